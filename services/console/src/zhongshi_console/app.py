"""The console service factory: a backend-for-frontend serving server-rendered pages in Simplified Chinese."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from zhongshi_runtime.metrics import RuntimeMetrics, instrument

from zhongshi_console.auth import CsrfRefused, LoginRequired, PageNotFound, check_csrf, login_url, oauth_client
from zhongshi_console.clients import BackendError, Backends, NotSignedIn
from zhongshi_console.metrics import ConsoleMetrics
from zhongshi_console.pages import (
    applicant,
    city,
    experts,
    lifecycle,
    login,
    materials,
    objections,
    officials,
    operator,
    others,
    province,
    public,
)
from zhongshi_console.sessions import SessionMiddleware, SessionStore
from zhongshi_console.settings import ConsoleSettings
from zhongshi_console.web import HERE, Reshown, render, templates

log = logging.getLogger(__name__)
PAGES = (login, public, objections, applicant, materials, officials, others, operator, province, experts, lifecycle,
         city)


def create_app(settings: ConsoleSettings | None = None, store: SessionStore | None = None,
               transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    if store is None:  # (an empty store is falsy: it has a length)
        store = SessionStore(idle_s=settings.session_idle_s, max_sessions=settings.session_max)
    backends = Backends.of(settings, transport)
    metrics = ConsoleMetrics(RuntimeMetrics(settings.service_name))
    client = oauth_client(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await backends.close()

    app = FastAPI(title="zhongshi console", lifespan=lifespan, dependencies=[Depends(check_csrf)],
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.templates, app.state.backends, app.state.metrics, app.state.oauth = templates(), backends, metrics, client
    app.state.settings, app.state.store = settings, store
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    add_probes(app, backends, metrics, store)
    add_error_pages(app, metrics)
    for page in PAGES:
        app.include_router(page.api)
    app.add_middleware(SessionMiddleware, store=store, secure=settings.public_url.startswith("https://"))
    instrument(app, metrics.runtime)
    return app


def add_probes(app: FastAPI, backends: Backends, metrics: ConsoleMetrics, store: SessionStore) -> None:
    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", include_in_schema=False)
    async def ready() -> Response:
        """Ready when the registry answers: the public pages, the console's front door, need it."""
        if await backends.ready("registry"):
            return PlainTextResponse("ready")
        return PlainTextResponse("registry unreachable", status_code=503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_() -> Response:
        metrics.sessions.set(len(store))
        return Response(generate_latest(metrics.runtime.registry), media_type=CONTENT_TYPE_LATEST)


def add_error_pages(app: FastAPI, metrics: ConsoleMetrics) -> None:
    """Every failure becomes a page in Chinese: the console's 404, a login redirect, or a plain message."""

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    @app.exception_handler(NotSignedIn)
    async def token_refused(request: Request, exc: NotSignedIn) -> Response:
        request.session.pop("token", None)
        request.session.pop("user", None)
        return RedirectResponse(login_url(request.url.path), status_code=303)

    @app.exception_handler(PageNotFound)
    async def not_found(request: Request, exc: PageNotFound) -> Response:
        return render(request, "404.html", status_code=404)

    @app.exception_handler(Reshown)
    async def reshown(request: Request, exc: Reshown) -> Response:
        return exc.response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return render(request, "404.html", status_code=404)
        return render(request, "message.html", {"title": "请求未能完成", "message": "请求方式不受支持。"},
                      status_code=exc.status_code)

    @app.exception_handler(CsrfRefused)
    async def csrf(request: Request, exc: CsrfRefused) -> Response:
        metrics.csrf_refused.inc()
        return render(request, "message.html", {"title": "请求已被拒绝", "message": "页面已过期或请求来源无法确认，"
                                                "请返回上一页刷新后重新提交。"}, status_code=403)

    @app.exception_handler(BackendError)
    async def backend(request: Request, exc: BackendError) -> Response:
        metrics.backend_errors.labels(f"{exc.status // 100}xx").inc()
        if exc.status in (403, 404):
            return render(request, "404.html", status_code=404)
        return render(request, "message.html", {"title": "请求未能完成", "message": exc.message},
                      status_code=exc.status if exc.status < 500 else 502)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        log.exception("page failed: %s", request.url.path)
        return render(request, "message.html", {"title": "系统繁忙",
                                                "message": "系统暂时无法处理您的请求，请稍后再试。"}, status_code=500)
