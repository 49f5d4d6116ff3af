"""Experts' assignments: the materials, the scoring form, declaring a conflict and the panel lead's note."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from zhongshi_runtime.auth import Role

from zhongshi_console.clients import Backends
from zhongshi_console.deps import Wired
from zhongshi_console.pages import materials
from zhongshi_console.roles import Caller, signed_in
from zhongshi_console.web import render, unless_refused

API = "/api/v1"
Expert = Annotated[Caller, Depends(signed_in(Role.EXPERT))]


api = APIRouter(include_in_schema=False)


@api.get("/expert/assignments", response_class=HTMLResponse)
async def assignments(request: Request, caller: Expert, backends: Wired) -> HTMLResponse:
    found = await backends.call("review", "GET", f"{API}/assignments", caller.token)
    return render(request, "expert/assignments.html", {"assignments": found})


@api.get("/expert/assignments/{application_id}", response_class=HTMLResponse)
async def assignment(request: Request, application_id: str, caller: Expert, backends: Wired) -> HTMLResponse:
    return await show_assignment(request, backends, application_id, caller)


async def show_assignment(request: Request, backends: Backends, application_id: str, caller: Caller,
                          status_code: int = 200, **extra: Any) -> HTMLResponse:
    found = await backends.call("review", "GET", f"{API}/assignments/{application_id}", caller.token)
    listed = await materials.readable_rows(backends, caller.token, application_id)
    context = {"a": found, "materials": listed, "app": {"id": application_id}, "form": {}, "errors": {}}
    return render(request, "expert/assignment.html", {**context, **extra}, status_code)


async def assignment_step(request: Request, backends: Backends, application_id: str, caller: Caller, step: str,
                          body: dict[str, Any], statuses: tuple[int, ...] = (409, 422), **shown: Any) -> None:
    """POST one step of the assignment to review; a refusal shows the assignment again with ``shown``, the
    refusal's fields, and its message under ``<step>_error`` (``error`` for the score)."""
    label = "error" if step == "score" else f"{step}_error"
    await unless_refused(
        backends.call("review", "POST", f"{API}/assignments/{application_id}/{step}", caller.token, json=body),
        lambda exc: show_assignment(request, backends, application_id, caller, exc.status, errors=exc.fields,
                                    **shown, **{label: exc.message}), statuses=statuses)


@api.post("/expert/assignments/{application_id}/score", response_class=HTMLResponse)
async def score(request: Request, application_id: str, caller: Expert, backends: Wired) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    await assignment_step(request, backends, application_id, caller, "score", sheet_of(form), form=form)
    return RedirectResponse(f"/expert/assignments/{application_id}", status_code=303)


@api.post("/expert/assignments/{application_id}/decline", response_class=HTMLResponse)
async def decline(request: Request, application_id: str, caller: Expert, backends: Wired,
                  reason: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """Declare a conflict of interest (回避): the panel is redrawn without this expert."""
    await assignment_step(request, backends, application_id, caller, "decline", {"reason": reason.strip()},
                          form={"reason": reason})
    return RedirectResponse("/expert/assignments", status_code=303)


@api.post("/expert/assignments/{application_id}/reconcile", response_class=HTMLResponse)
async def reconcile(request: Request, application_id: str, caller: Expert, backends: Wired,
                    note: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """The panel lead's note on diverging scores (分歧协调), after which the review counts as complete."""
    await assignment_step(request, backends, application_id, caller, "reconcile", {"note": note.strip()},
                          statuses=(403, 409, 422), form={"note": note})
    return RedirectResponse(f"/expert/assignments/{application_id}", status_code=303)


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
