"""Login (code + PKCE at the provider), its callback, and logout."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from authlib.integrations.base_client import OAuthError
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from zhongshi_console.auth import User, keep_token, safe_next, token_claims
from zhongshi_console.deps import Metrics, OAuthClient, Settings, Store
from zhongshi_console.roles import home_of
from zhongshi_console.sessions import rotate
from zhongshi_console.settings import ConsoleSettings
from zhongshi_console.web import render

log = logging.getLogger(__name__)
NEXT_KEY = "next"


api = APIRouter(include_in_schema=False)


def base_url(request: Request, settings: ConsoleSettings) -> str:
    """The console's external address: the configured one, else the request's."""
    return settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")


@api.get("/login")
async def login(request: Request, settings: Settings, client: OAuthClient,
                next_: Annotated[str | None, Query(alias="next")] = None) -> Response:
    if client is None:
        return render(request, "message.html", {"title": "登录暂不可用", "message": "尚未配置统一身份认证服务，"
                                                "请联系运维人员（CONSOLE_OIDC_ISSUER）。"}, status_code=503)
    request.session[NEXT_KEY] = safe_next(next_)
    response: Response = await client.authorize_redirect(request, f"{base_url(request, settings)}/auth/callback")
    return response


@api.get("/auth/callback")
async def callback(request: Request, client: OAuthClient, store: Store, metrics: Metrics) -> Response:
    if client is None:
        return RedirectResponse("/", status_code=303)
    try:
        token: dict[str, Any] = await client.authorize_access_token(request)
        user = User.from_claims(token_claims(token["access_token"]))
    except (OAuthError, KeyError, ValueError) as exc:
        metrics.login_failures.inc()
        log.warning("login refused: %s", type(exc).__name__)
        return render(request, "message.html", {
            "title": "登录未完成", "message": "登录请求已失效或被拒绝，请重新登录。",
            "link": ("重新登录", "/login"),
        }, status_code=400)
    next_path = safe_next(request.session.get(NEXT_KEY))
    session = rotate(request.scope, store)  # a new id once signed in: a planted id is worth nothing
    session.update(user=user.as_dict(), token=keep_token(token))
    metrics.logins.labels(user.role.value).inc()
    return RedirectResponse(next_path if next_path != "/" else home_of(user), status_code=303)


@api.post("/logout")
async def logout(request: Request, settings: Settings, client: OAuthClient, store: Store) -> Response:
    id_token = (request.session.get("token") or {}).get("id_token")
    rotate(request.scope, store)
    if client is not None:
        metadata = await client.load_server_metadata()
        if metadata.get("end_session_endpoint") and id_token:
            response: Response = await client.logout_redirect(
                request, post_logout_redirect_uri=f"{base_url(request, settings)}/", id_token_hint=id_token)
            return response
    return RedirectResponse("/", status_code=303)
