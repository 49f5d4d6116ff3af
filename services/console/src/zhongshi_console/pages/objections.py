"""Objections on the public publicity page: a signed-in person objects under their login; anyone else first
proves a phone or e-mail with notify's one-time code (联系方式验证), whose proof the registry checks."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from zhongshi_runtime import contact_proof
from zhongshi_runtime.ratelimit import client_key

from zhongshi_console.auth import LoginRequired, access_token, current_user
from zhongshi_console.clients import BackendError, Backends, NotSignedIn
from zhongshi_console.deps import Wired, settings
from zhongshi_console.pages.public import publicity_context
from zhongshi_console.web import render, unless_refused

VERIFICATION = "contact_verification"  # session key: the code sent, for which contact
PROOF = "contact_proof"  # session key: notify's proof, reused until it expires (the code is single-use)
PROOF_MARGIN_S = 60  # a proof this close to expiry is not presented: ask for a new code instead
Text = Annotated[str, Form(max_length=4000)]
CODE_REFUSALS = frozenset({*range(500), 503})  # shown beside the contact: a refusal, or notify unreachable


class Unproven(Exception):
    """The contact is not (or no longer) proven; ``message`` goes under the code field."""


def channel_of(contact: str) -> str:
    return "email" if "@" in contact else "sms"


def same_contact(held: dict[str, Any], contact: str) -> bool:
    return held.get("digest") == contact_proof.contact_digest(contact)


api = APIRouter(include_in_schema=False)


def browser(request: Request) -> dict[str, str]:
    """The browser's address for the service, which limits these public calls per address: without it every
    console user would share the console's one limit, and one person could use it up for everyone."""
    return {"X-Forwarded-For": client_key(request, settings(request).trust_forwarded_for)}


async def page(request: Request, backends: Backends, round_id: str, status_code: int = 200,
               **extra: Any) -> HTMLResponse:
    return render(request, "publicity.html", {**await publicity_context(backends, round_id), **extra}, status_code)


@api.post("/publicity/{round_id}/code", response_class=HTMLResponse)
async def send_code(request: Request, round_id: str, backends: Wired, application_id: Text = "", name: Text = "",
                    contact: Text = "", grounds: Text = "") -> HTMLResponse:
    """Send a one-time code to the contact typed in the form; the form's other fields are kept."""
    form = {"application_id": application_id, "name": name.strip(), "contact": contact.strip(),
            "grounds": grounds.strip()}
    sent = await unless_refused(
        backends.call("notify", "POST", "/api/v1/public/contact-verifications", headers=browser(request),
                      json={"channel": channel_of(form["contact"]), "address": form["contact"]}),
        lambda exc: page(request, backends, round_id, exc.status, form=form,
                         errors={"contact": exc.fields.get("address") or exc.message}), statuses=CODE_REFUSALS)
    request.session[VERIFICATION] = {"id": sent["id"], "digest": contact_proof.contact_digest(form["contact"])}
    return await page(request, backends, round_id, form=form, code_sent=sent["sent_to"])


@api.post("/publicity/{round_id}/objections", response_class=HTMLResponse)
async def objection(request: Request, round_id: str, backends: Wired, application_id: Text = "", name: Text = "",
                    contact: Text = "", grounds: Text = "", code: Text = "") -> HTMLResponse:
    form = {"application_id": application_id, "name": name.strip(), "contact": contact.strip(),
            "grounds": grounds.strip()}
    try:
        filed = await unless_refused(
            file(request, backends, round_id, form, code.strip()),
            lambda exc: page(request, backends, round_id, exc.status, form=form, errors=exc.fields,
                             error=exc.message), statuses=range(500))
    except Unproven as exc:
        return await page(request, backends, round_id, 422, form=form, errors={"code": str(exc)})
    return await page(request, backends, round_id, filed=filed)


async def file(request: Request, backends: Backends, round_id: str, form: dict[str, str], code: str) -> Any:
    """File as the signed-in person, or with the contact's proof."""
    token = await objector_token(request)
    headers = browser(request) | (
        {} if token else {contact_proof.HEADER: await proof_for(request, backends, form["contact"], code)})
    try:
        return await backends.call("registry", "POST", f"/api/v1/publicity/{round_id}/objections", token,
                                   headers=headers, json=form)
    except NotSignedIn:
        if token:
            raise
        request.session.pop(PROOF, None)
        raise Unproven("验证已过期，请重新获取验证码") from None


async def proof_for(request: Request, backends: Backends, contact: str, code: str) -> str:
    """The session's proof for this contact, or a new one for the code just typed."""
    held: dict[str, Any] = request.session.get(PROOF) or {}
    if same_contact(held, contact) and held["expires"] > time.time() + PROOF_MARGIN_S:
        return str(held["proof"])
    sent: dict[str, Any] = request.session.get(VERIFICATION) or {}
    if not same_contact(sent, contact):
        raise Unproven("请先获取验证码，验证这一联系方式")
    if not code:
        raise Unproven("请填写收到的 6 位验证码")
    try:
        proven = await backends.call("notify", "POST", f"/api/v1/public/contact-verifications/{sent['id']}/confirm",
                                     json={"code": code})
    except BackendError as exc:
        if exc.status not in (409, 422):
            raise
        raise Unproven(exc.fields.get("code") or exc.message) from None
    request.session.pop(VERIFICATION, None)
    request.session[PROOF] = {"proof": proven["proof"], "digest": sent["digest"],
                              "expires": time.time() + 25 * 60}  # notify's proof lives 30 minutes
    return str(proven["proof"])


async def objector_token(request: Request) -> str | None:
    """A signed-in person objects under their own name; otherwise the registry asks for a verified contact."""
    if current_user(request) is None:
        return None
    try:
        return await access_token(request)
    except LoginRequired:
        return None
