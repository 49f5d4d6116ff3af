"""Officials' pages: the queue of their level, an application's case, and the department's actions with a
required opinion (recommend, forward, return, reject; the province's exception decision)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from zhongshi_runtime.auth import OFFICIALS, Role

from zhongshi_console.clients import Backends
from zhongshi_console.deps import Wired
from zhongshi_console.pages import materials
from zhongshi_console.roles import Caller, signed_in
from zhongshi_console.web import render, unless_refused

Official = Annotated[Caller, Depends(signed_in(*OFFICIALS))]
API = "/api/v1"
LEVELS = {Role.COUNTY_OFFICIAL: "county", Role.CITY_OFFICIAL: "city", Role.PROVINCE_OFFICIAL: "province"}
ACTIONS = {  # what each level may do from its queue, with the button's label
    Role.COUNTY_OFFICIAL: {"recommend": "推荐", "return": "退回修改", "reject": "不予推荐"},
    Role.CITY_OFFICIAL: {"forward": "推荐至省经信厅", "return": "退回修改", "reject": "不予推荐"},
    Role.PROVINCE_OFFICIAL: {"approve": "同意例外认定", "refuse": "不同意例外认定"},
}
PAGE_SIZE = 20


api = APIRouter(prefix="/official", include_in_schema=False)


@api.get("/queue", response_class=HTMLResponse)
async def queue(request: Request, caller: Official, backends: Wired, overdue: Annotated[str, Query(max_length=5)] = "",
                offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> HTMLResponse:
    params: dict[str, Any] = {"offset": offset, "limit": PAGE_SIZE}
    if overdue in ("true", "false"):
        params["overdue"] = overdue
    page = await backends.call("screening", "GET", f"{API}/queues/{LEVELS[caller.user.role]}", caller.token,
                               params=params)
    return render(request, "official/queue.html", {"page": page, "overdue": overdue, "page_size": PAGE_SIZE})


@api.get("/cases/{application_id}", response_class=HTMLResponse)
async def case(request: Request, application_id: str, caller: Official, backends: Wired) -> HTMLResponse:
    return await show(request, backends, application_id, caller)


async def show(request: Request, backends: Backends, application_id: str, caller: Caller,
               **extra: Any) -> HTMLResponse:
    found = await backends.call("screening", "GET", f"{API}/cases/{application_id}", caller.token)
    status_code = extra.pop("status_code", 200)
    listed = await materials.readable_rows(backends, caller.token, application_id)
    return render(request, "official/case.html", {"case": found, "actions": ACTIONS[caller.user.role],
                                                  "materials": listed, "app": {"id": application_id},
                                                  "form": {}, "errors": {}, **extra}, status_code)


@api.post("/cases/{application_id}", response_class=HTMLResponse)
async def decide(request: Request, application_id: str, caller: Official, backends: Wired,
                 action: Annotated[str, Form(max_length=20)] = "",
                 opinion: Annotated[str, Form(max_length=4000)] = "") -> Response:
    if action not in ACTIONS[caller.user.role]:
        return await show(request, backends, application_id, caller, error="请选择一项办理操作", status_code=422)
    method, path, body = step(application_id, action, opinion.strip())
    await unless_refused(
        backends.call("screening", method, path, caller.token, json=body),
        lambda exc: show(request, backends, application_id, caller, error=exc.message,
                         errors={"opinion": exc.fields.get("opinion") or exc.fields.get("justification", "")},
                         form={"opinion": opinion, "action": action}, status_code=exc.status))
    return RedirectResponse("/official/queue", status_code=303)


def step(application_id: str, action: str, opinion: str) -> tuple[str, str, dict[str, Any]]:
    """The screening call for ``action``: (method, path) and its body."""
    if action in ("approve", "refuse"):
        return ("POST", f"{API}/applications/{application_id}/exception-decision",
                {"approved": action == "approve", "justification": opinion})
    return "POST", f"{API}/applications/{application_id}/{action}", {"opinion": opinion}
