"""Page rendering: the Jinja2 environment with the console's filters, and each page's common context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from zhongshi_contracts.reference import CLUSTERS, PLATFORM_TYPE_LABELS, TIER_LABELS, hubei_cities

from zhongshi_console import formats
from zhongshi_console.auth import current_user
from zhongshi_console.roles import MENUS, PUBLIC_MENU, ROLE_LABELS
from zhongshi_console.sessions import CSRF_KEY

HERE = Path(__file__).parent


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
