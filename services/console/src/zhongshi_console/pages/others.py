"""Experts' assignments: the materials, the scoring form, declaring a conflict and the panel lead's note."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from zhongshi_runtime.auth import Role

from zhongshi_console.clients import BackendError, Backends
from zhongshi_console.pages import materials
from zhongshi_console.roles import Caller, signed_in
from zhongshi_console.web import render

API = "/api/v1"
Expert = Annotated[Caller, Depends(signed_in(Role.EXPERT))]


def router(backends: Backends) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/expert/assignments", response_class=HTMLResponse)
    async def assignments(request: Request, caller: Expert) -> HTMLResponse:
        found = await backends.call("review", "GET", f"{API}/assignments", caller.token)
        return render(request, "expert/assignments.html", {"assignments": found})

    @api.get("/expert/assignments/{application_id}", response_class=HTMLResponse)
    async def assignment(request: Request, application_id: str, caller: Expert) -> HTMLResponse:
        return await show_assignment(request, application_id, caller)

    async def show_assignment(request: Request, application_id: str, caller: Caller, status_code: int = 200,
                              **extra: Any) -> HTMLResponse:
        found = await backends.call("review", "GET", f"{API}/assignments/{application_id}", caller.token)
        listed = await materials.readable_rows(backends, caller.token, application_id)
        context = {"a": found, "materials": listed, "app": {"id": application_id}, "form": {}, "errors": {}}
        return render(request, "expert/assignment.html", {**context, **extra}, status_code)

    @api.post("/expert/assignments/{application_id}/score", response_class=HTMLResponse)
    async def score(request: Request, application_id: str, caller: Expert) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        sheet = sheet_of(form)
        try:
            await backends.call("review", "POST", f"{API}/assignments/{application_id}/score", caller.token,
                                json=sheet)
        except BackendError as exc:
            if exc.status not in (409, 422):
                raise
            return await show_assignment(request, application_id, caller, exc.status, form=form,
                                         errors=exc.fields, error=exc.message)
        return RedirectResponse(f"/expert/assignments/{application_id}", status_code=303)

    @api.post("/expert/assignments/{application_id}/decline", response_class=HTMLResponse)
    async def decline(request: Request, application_id: str, caller: Expert,
                      reason: Annotated[str, Form(max_length=4000)] = "") -> Response:
        """Declare a conflict of interest (回避): the panel is redrawn without this expert."""
        try:
            await backends.call("review", "POST", f"{API}/assignments/{application_id}/decline", caller.token,
                                json={"reason": reason.strip()})
        except BackendError as exc:
            if exc.status not in (409, 422):
                raise
            return await show_assignment(request, application_id, caller, exc.status, form={"reason": reason},
                                         errors=exc.fields, decline_error=exc.message)
        return RedirectResponse("/expert/assignments", status_code=303)

    @api.post("/expert/assignments/{application_id}/reconcile", response_class=HTMLResponse)
    async def reconcile(request: Request, application_id: str, caller: Expert,
                        note: Annotated[str, Form(max_length=4000)] = "") -> Response:
        """The panel lead's note on diverging scores (分歧协调), after which the review counts as complete."""
        try:
            await backends.call("review", "POST", f"{API}/assignments/{application_id}/reconcile", caller.token,
                                json={"note": note.strip()})
        except BackendError as exc:
            if exc.status not in (403, 409, 422):
                raise
            return await show_assignment(request, application_id, caller, exc.status, form={"note": note},
                                         errors=exc.fields, reconcile_error=exc.message)
        return RedirectResponse(f"/expert/assignments/{application_id}", status_code=303)

    return api


def sheet_of(form: dict[str, str]) -> dict[str, Any]:
    """The scoring form as review's sheet: ``score.<key>`` and ``comment.<key>`` per criterion."""
    scores: dict[str, Any] = {}
    for name, value in form.items():
        if name.startswith("score."):
            text = value.strip()
            scores[name.removeprefix("score.")] = int(text) if text.isdigit() else text
    comments = {name.removeprefix("comment."): value.strip() for name, value in form.items()
                if name.startswith("comment.") and value.strip()}
    return {"scores": scores, "comments": comments, "overall_comment": form.get("overall_comment", "").strip()}
