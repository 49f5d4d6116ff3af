"""Applicant pages: own applications with their timeline, open rounds, submit and withdraw, the inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from zhongshi_runtime.auth import Role

from zhongshi_console.clients import BackendError, Backends
from zhongshi_console.roles import Caller, signed_in
from zhongshi_console.web import render

Applicant = Annotated[Caller, Depends(signed_in(Role.APPLICANT))]
API = "/api/v1"


def router(backends: Backends) -> APIRouter:
    api = APIRouter(prefix="/applicant", include_in_schema=False)

    @api.get("", response_class=HTMLResponse)
    async def mine(request: Request, caller: Applicant) -> HTMLResponse:
        page = await backends.call("intake", "GET", f"{API}/applications", caller.token)
        return render(request, "applicant/home.html", {"page": page})

    @api.get("/rounds", response_class=HTMLResponse)
    async def rounds(request: Request, caller: Applicant) -> HTMLResponse:
        found = await backends.call("intake", "GET", f"{API}/rounds", caller.token)
        return render(request, "applicant/rounds.html", {"rounds": found})

    @api.get("/applications/{application_id}", response_class=HTMLResponse)
    async def application(request: Request, application_id: str, caller: Applicant) -> HTMLResponse:
        return await show(request, application_id, caller)

    async def show(request: Request, application_id: str, caller: Caller, error: str = "",
                   status_code: int = 200) -> HTMLResponse:
        found = await backends.call("intake", "GET", f"{API}/applications/{application_id}", caller.token)
        return render(request, "applicant/application.html", {"app": found, "error": error}, status_code)

    @api.post("/applications/{application_id}/{action}", response_class=HTMLResponse)
    async def act(request: Request, application_id: str, action: str, caller: Applicant,
                  reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
        if action not in ("submit", "withdraw"):
            return render(request, "404.html", status_code=404)
        body = {"reason": reason.strip()} if action == "withdraw" else None
        try:
            await backends.call("intake", "POST", f"{API}/applications/{application_id}/{action}", caller.token,
                                json=body)
        except BackendError as exc:
            if exc.status != 409:
                raise
            return await show(request, application_id, caller, exc.message, 409)
        return RedirectResponse(f"/applicant/applications/{application_id}", status_code=303)

    @api.get("/inbox", response_class=HTMLResponse)
    async def inbox(request: Request, caller: Applicant) -> HTMLResponse:
        page = await backends.call("notify", "GET", f"{API}/inbox", caller.token)
        return render(request, "applicant/inbox.html", {"page": page})

    return api
