"""One-time codes that prove a phone or e-mail (联系方式验证), for objectors who do not log in: send a code,
and confirm it for a proof the registry accepts (see `verification_service`). These public routes have ports
of their own: a `Verifier` on `app.state.verifier`, set by the factory."""

from __future__ import annotations

import re
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.errors import errors
from zhongshi_runtime.ratelimit import client_key

from zhongshi_notify import verification_service
from zhongshi_notify.planning import Channel
from zhongshi_notify.verification_service import Verifier

ADDRESS = {Channel.EMAIL: re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), Channel.SMS: re.compile(r"^1\d{10}$")}

router = APIRouter(prefix="/api/v1/public", tags=["public"])


def verifier(request: Request) -> Verifier:
    """The verification use cases' dependencies, put on the app by app.py (`app.state.verifier`)."""
    return cast(Verifier, request.app.state.verifier)


Verifying = Annotated[Verifier, Depends(verifier)]


class VerificationRequest(BaseModel):
    channel: Literal["email", "sms"]
    address: str = Field(min_length=5, max_length=100, description="The e-mail address or mobile number.")


class CodeSubmission(BaseModel):
    code: Annotated[str, Field(pattern=r"^\d{6}$")]


def _checked(body: VerificationRequest) -> tuple[Channel, str]:
    """The channel and the address with spaces, hyphens and brackets removed; 422 naming the address."""
    channel = Channel(body.channel)
    address = re.sub(r"[\s\-()（）]", "", body.address)
    if not ADDRESS[channel].match(address):
        raise RequestValidationError([{"loc": ("body", "address"), "type": "value_error",
                                       "msg": f"请填写有效的{'手机号码' if channel is Channel.SMS else '电子邮箱'}"}])
    return channel, address


def _masked(address: str) -> str:
    name, at, domain = address.partition("@")
    return f"{name[:1]}***{at}{domain}" if at else f"{address[:3]}****{address[-4:]}"


@router.post("/contact-verifications", status_code=202, responses=errors(409, 429),
             summary="Send a one-time code to a phone or e-mail (no login)")
async def request_code(body: VerificationRequest, request: Request, verifier: Verifying) -> dict[str, object]:
    verifier.usable()
    channel, address = _checked(body)
    audit = Audit.public(request, "contact.verification.send", "contact_verification", "")
    challenge = await verification_service.send_code(verifier, channel, address,
                                             client_key(request, verifier.trust_forwarded_for), audit)
    return {"id": challenge.id, "expires_at": challenge.expires_at, "sent_to": _masked(address)}


@router.post("/contact-verifications/{verification_id}/confirm", responses=errors(409),
             summary="Check the code; a right one returns the proof to present with an objection")
async def confirm(verification_id: str, body: CodeSubmission, request: Request, verifier: Verifying
                  ) -> dict[str, object]:
    audit = Audit.public(request, "contact.verification.confirm", "contact_verification", verification_id)
    return await verification_service.confirm(verifier, verification_id, body.code, audit)
