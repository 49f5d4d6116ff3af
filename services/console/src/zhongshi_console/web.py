"""Page rendering: the Jinja2 environment with the console's filters, and each page's common context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from zhongshi_contracts.reference import CLUSTERS, PLATFORM_TYPE_LABELS, TIER_LABELS, hubei_cities

from zhongshi_console import formats
from zhongshi_console.auth import current_user
from zhongshi_console.clients import BackendError
from zhongshi_console.roles import MENUS, PUBLIC_MENU, ROLE_LABELS
from zhongshi_console.sessions import CSRF_KEY

HERE = Path(__file__).parent
T = TypeVar("T")
REFUSED = (409, 422)  # a conflict or bad input: the page again, with the service's message and fields


class Reshown(Exception):
    """A refused call's page shown again (``response``, its status the refusal's); app.py answers with it."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=HERE / "templates")
    t.env.filters.update(date=formats.chinese_date, datetime=formats.chinese_datetime, filesize=formats.filesize,
                         yuan=formats.yuan)
    t.env.globals.update(
        cities=hubei_cities(), platform_types={t.value: label for t, label in PLATFORM_TYPE_LABELS.items()},
        clusters={c.value: name for c, (name, _) in CLUSTERS.items()},
        tiers={t.value: label for t, label in TIER_LABELS.items()}, role_labels=ROLE_LABELS,
    )
    return t


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """A page with the signed-in user's menu (or the public one) and the session's CSRF token."""
    user = current_user(request)
    session = request.scope.get("session") or {}
    base = {"user": user, "menu": MENUS[user.role] if user else (), "public_menu": PUBLIC_MENU,
            "csrf_token": session.get(CSRF_KEY, ""), "path": request.url.path}
    engine: Jinja2Templates = request.app.state.templates
    return engine.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status_code)


async def unless_refused(call: Awaitable[T], page: Callable[[BackendError], Awaitable[Response]],
                         statuses: Container[int] = REFUSED) -> T:
    """The call's answer; a refusal with one of ``statuses`` shows ``page(refusal)`` instead (by raising
    `Reshown`), any other refusal goes to the error pages."""
    try:
        return await call
    except BackendError as exc:
        if exc.status not in statuses:
            raise
        raise Reshown(await page(exc)) from None
