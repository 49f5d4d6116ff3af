"""Applicant pages: own applications with their timeline, open rounds, submit and withdraw, the inbox."""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from zhongshi_contracts import lifecycle
from zhongshi_runtime.auth import Role

from zhongshi_console.clients import BackendError, Backends
from zhongshi_console.deps import Wired
from zhongshi_console.dossier_form import errors_by_field, fields, sections, to_dossier, to_form
from zhongshi_console.pages import materials
from zhongshi_console.roles import Caller, signed_in
from zhongshi_console.web import render, unless_refused

Applicant = Annotated[Caller, Depends(signed_in(Role.APPLICANT))]
API = "/api/v1"


api = APIRouter(prefix="/applicant", include_in_schema=False)


@api.get("", response_class=HTMLResponse)
async def mine(request: Request, caller: Applicant, backends: Wired) -> HTMLResponse:
    page = await backends.call("intake", "GET", f"{API}/applications", caller.token)
    return render(request, "applicant/home.html", {"page": page})


@api.get("/rounds", response_class=HTMLResponse)
async def rounds(request: Request, caller: Applicant, backends: Wired) -> HTMLResponse:
    found = await backends.call("intake", "GET", f"{API}/rounds", caller.token)
    return render(request, "applicant/rounds.html", {"rounds": found})


@api.get("/applications/{application_id}", response_class=HTMLResponse)
async def application(request: Request, application_id: str, caller: Applicant, backends: Wired) -> HTMLResponse:
    return await show(request, backends, application_id, caller)


async def show(request: Request, backends: Backends, application_id: str, caller: Caller, error: str = "",
               status_code: int = 200, upload_error: dict[str, Any] | None = None) -> HTMLResponse:
    """The application with its timeline and materials; ``error`` (a refused action) at the top."""
    found, _, listed = await with_materials(backends, application_id, caller)
    return render(request, "applicant/application.html", {
        "app": found, "error": error, "materials": listed, "upload_error": upload_error or {},
        "editable": found["status"] in lifecycle.EDITABLE,
        "withdrawable": found["revision"] > 0 and found["status"] not in lifecycle.FINAL}, status_code)


async def with_materials(backends: Backends, application_id: str, caller: Caller) -> tuple[Any, Any, Any]:
    """The application, its round and its materials' rows."""
    found = await backends.call("intake", "GET", f"{API}/applications/{application_id}", caller.token)
    round_ = await backends.call("intake", "GET", f"{API}/rounds/{found['round_id']}", caller.token)
    listed = await materials.rows(backends, caller.token, found["id"], round_.get("required_materials", []),
                                  materials.declared_kinds(found))
    return found, round_, listed


@api.post("/applications/{application_id}/materials", response_class=HTMLResponse)
async def upload(request: Request, application_id: str, caller: Applicant, backends: Wired) -> Response:
    """One material's upload (multipart, CSRF-checked), forwarded to intake; a refusal beside its kind."""
    refused_upload = await materials.upload(backends, request, application_id, caller)
    if refused_upload is not None:
        return await show(request, backends, application_id, caller, status_code=refused_upload["status"],
                          upload_error=refused_upload)
    return RedirectResponse(f"/applicant/applications/{application_id}#materials", status_code=303)


@api.post("/applications/{application_id}/{action}", response_class=HTMLResponse)
async def act(request: Request, application_id: str, action: str, caller: Applicant, backends: Wired,
              reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    if action not in ("submit", "withdraw"):
        return render(request, "404.html", status_code=404)
    body = {"reason": reason.strip()} if action == "withdraw" else None
    await unless_refused(
        backends.call("intake", "POST", f"{API}/applications/{application_id}/{action}", caller.token, json=body),
        lambda exc: show(request, backends, application_id, caller, exc.message, 409), statuses=(409,))
    return RedirectResponse(f"/applicant/applications/{application_id}", status_code=303)


@api.get("/rounds/{round_id}/apply", response_class=HTMLResponse)
async def new_form(request: Request, round_id: str, caller: Applicant, backends: Wired) -> HTMLResponse:
    found = await backends.call("intake", "GET", f"{API}/rounds/{round_id}", caller.token)
    return dossier_page(request, f"填写申报书：{found['title']}", f"/applicant/rounds/{round_id}/apply", {})


@api.post("/rounds/{round_id}/apply", response_class=HTMLResponse)
async def create(request: Request, round_id: str, caller: Applicant, backends: Wired) -> Response:
    form = await request.form()
    dossier = to_dossier(texts(form), caller.user.organisation)
    key = str(form.get("idempotency_key", ""))[:100] or None
    app = await unless_refused(
        backends.call("intake", "POST", f"{API}/applications", caller.token,
                      json={"round_id": round_id, "dossier": dossier},
                      headers={"Idempotency-Key": key} if key else None),
        lambda exc: refused(request, exc, "填写申报书", f"/applicant/rounds/{round_id}/apply", to_form(dossier), key))
    return RedirectResponse(f"/applicant/applications/{app['id']}", status_code=303)


@api.get("/applications/{application_id}/edit", response_class=HTMLResponse)
async def edit_form(request: Request, application_id: str, caller: Applicant, backends: Wired) -> HTMLResponse:
    found = await backends.call("intake", "GET", f"{API}/applications/{application_id}", caller.token)
    return dossier_page(request, f"修改申报书：{found['dossier']['platform']['name']}",
                        f"/applicant/applications/{application_id}/edit", to_form(found["dossier"]))


@api.post("/applications/{application_id}/edit", response_class=HTMLResponse)
async def edit(request: Request, application_id: str, caller: Applicant, backends: Wired) -> Response:
    form = await request.form()
    dossier = to_dossier(texts(form), caller.user.organisation)
    await unless_refused(
        backends.call("intake", "PATCH", f"{API}/applications/{application_id}", caller.token, json=dossier),
        lambda exc: refused(request, exc, "修改申报书", f"/applicant/applications/{application_id}/edit",
                            to_form(dossier)))
    return RedirectResponse(f"/applicant/applications/{application_id}", status_code=303)


@api.get("/applications/{application_id}/self-check", response_class=HTMLResponse)
async def self_check(request: Request, application_id: str, caller: Applicant, backends: Wired) -> HTMLResponse:
    """Every clause C1–C9 measured on the saved dossier under the round's rules; nothing is stored."""
    found, round_, listed = await with_materials(backends, application_id, caller)
    check = {"dossier": found["dossier"], "rule_set_version": round_["rule_set_version"],
             "uploaded_kinds": materials.uploaded_kinds(listed)}
    verdict = await backends.call("screening", "POST", f"{API}/eligibility/check", caller.token, json=check)
    return render(request, "applicant/self_check.html", {"app": found, "verdict": verdict})


@api.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, caller: Applicant, backends: Wired) -> HTMLResponse:
    page = await backends.call("notify", "GET", f"{API}/inbox", caller.token)
    preferences = await backends.call("notify", "GET", f"{API}/preferences", caller.token)
    return render(request, "applicant/inbox.html", {"page": page, "preferences": preferences,
                                                    "saved": request.query_params.get("saved") == "1"})


@api.post("/preferences", response_class=HTMLResponse)
async def preferences(caller: Applicant, backends: Wired, email: Annotated[str, Form()] = "",
                      sms: Annotated[str, Form()] = "") -> Response:
    await backends.call("notify", "PUT", f"{API}/preferences", caller.token,
                        json={"email": email == "true", "sms": sms == "true"})
    return RedirectResponse("/applicant/inbox?saved=1", status_code=303)


@api.post("/inbox/read", response_class=HTMLResponse)
async def mark_read(caller: Applicant, backends: Wired,
                    message_id: Annotated[str, Form(max_length=200)]) -> Response:
    await backends.call("notify", "POST", f"{API}/inbox/{quote(message_id, safe='')}/read", caller.token)
    return RedirectResponse("/applicant/inbox", status_code=303)


def dossier_page(request: Request, heading: str, action: str, values: dict[str, Any],
                 errors: dict[str, str] | None = None, key: str | None = None, status_code: int = 200) -> HTMLResponse:
    errors = errors or {}
    on_form = {f.name for f in fields()}
    return render(request, "applicant/dossier.html", {
        "heading": heading, "action": action, "sections": sections(), "values": values, "errors": errors,
        "loose": {k: v for k, v in errors.items() if k not in on_form},
        "idempotency_key": key or secrets.token_urlsafe(16)}, status_code)


async def refused(request: Request, exc: BackendError, heading: str, action: str, values: dict[str, Any],
                  key: str | None = None) -> HTMLResponse:
    """The form again with intake's refusal: errors next to their fields (422), or its message (409)."""
    errors = errors_by_field(exc.fields) or {"申报": exc.message}
    return dossier_page(request, heading, action, values, errors, key, exc.status)


def texts(form: FormData) -> dict[str, list[str]]:
    return {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
