"""The province's rounds, experts' assignments and the operator's webhook subscriptions (read-only lists)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from zhongshi_runtime.auth import Role

from zhongshi_console.clients import Backends
from zhongshi_console.roles import Caller, signed_in
from zhongshi_console.web import render

API = "/api/v1"


def router(backends: Backends) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/province/rounds", response_class=HTMLResponse)
    async def rounds(request: Request,
                     caller: Annotated[Caller, Depends(signed_in(Role.PROVINCE_OFFICIAL))]) -> HTMLResponse:
        found = await backends.call("intake", "GET", f"{API}/rounds", caller.token)
        return render(request, "province/rounds.html", {"rounds": found})

    @api.get("/expert/assignments", response_class=HTMLResponse)
    async def assignments(request: Request,
                          caller: Annotated[Caller, Depends(signed_in(Role.EXPERT))]) -> HTMLResponse:
        found = await backends.call("review", "GET", f"{API}/assignments", caller.token)
        return render(request, "expert/assignments.html", {"assignments": found})

    @api.get("/operator/webhooks", response_class=HTMLResponse)
    async def webhooks(request: Request,
                       caller: Annotated[Caller, Depends(signed_in(Role.OPERATOR))]) -> HTMLResponse:
        found = await backends.call("notify", "GET", f"{API}/webhooks", caller.token)
        return render(request, "operator/webhooks.html", {"subscriptions": found})

    return api
