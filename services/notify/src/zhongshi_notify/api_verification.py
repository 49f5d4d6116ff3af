"""One-time codes that prove a phone or e-mail (联系方式验证), for objectors who do not log in. Notify sends
the code on its own channel and keeps only its hash; a right code earns a short-lived proof signed by
notify, which the registry checks with notify's public key. The code is never stored, logged or published."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from zhongshi_contracts.events import Event
from zhongshi_runtime import contact_proof
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.clock import Clock, utc_now
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import Session, UnitOfWork
from zhongshi_runtime.ratelimit import Limit, RateLimiter, client_key, enforce
from zhongshi_runtime.store import Store

from zhongshi_notify.channels import Sender
from zhongshi_notify.planning import Channel, Delivery

CODE_TTL = timedelta(minutes=10)
PROOF_TTL = timedelta(minutes=30)
MAX_ATTEMPTS = 5
HOUR = 3600.0
ADDRESS = {Channel.EMAIL: re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), Channel.SMS: re.compile(r"^1\d{10}$")}


class Challenge(BaseModel):
    """A code sent to a contact: only the code's hash and the contact's digest are kept."""

    id: str
    channel: Channel
    digest: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    verified_at: datetime | None = None


class VerificationRequest(BaseModel):
    channel: Literal["email", "sms"]
    address: str = Field(min_length=5, max_length=100, description="The e-mail address or mobile number.")


class CodeSubmission(BaseModel):
    code: Annotated[str, Field(pattern=r"^\d{6}$")]


def _hash(challenge_id: str, code: str) -> str:
    return hashlib.sha256(f"{challenge_id}:{code}".encode()).hexdigest()


CHANNEL_NAMES = {Channel.SMS: "短信", Channel.EMAIL: "邮件"}


def _checked(body: VerificationRequest) -> tuple[Channel, str]:
    """The channel and the address with spaces, hyphens and brackets removed; 422 naming the address."""
    channel = Channel(body.channel)
    address = re.sub(r"[\s\-()（）]", "", body.address)
    if not ADDRESS[channel].match(address):
        raise RequestValidationError([{"loc": ("body", "address"), "type": "value_error",
                                       "msg": f"请填写有效的{'手机号码' if channel is Channel.SMS else '电子邮箱'}"}])
    return channel, address


def _message(challenge: Challenge, address: str, code: str) -> Delivery:
    """The code's message, sent at once and never stored (unlike a notice's delivery)."""
    minutes = int(CODE_TTL.total_seconds() // 60)
    return Delivery(id=f"verification/{challenge.id}", source_id=challenge.id, kind="verification",
                    channel=challenge.channel, recipient="public", address=address, title="异议提交验证码",
                    body=f"您提交公示异议的验证码为 {code}，{minutes}分钟内有效。如非本人操作请忽略。",
                    application_id="", created_at=challenge.created_at, next_attempt_at=challenge.created_at)


def _usable(signing_key: Callable[[], Ed25519PrivateKey]) -> None:
    """503 before any code is sent when no proof could be signed (the key is not configured)."""
    try:
        signing_key()
    except (OSError, ValueError):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "联系方式验证暂未开通，请登录后提出异议") from None


def _masked(address: str) -> str:
    name, at, domain = address.partition("@")
    return f"{name[:1]}***{at}{domain}" if at else f"{address[:3]}****{address[-4:]}"


def router(challenges: Store[Challenge], senders: dict[Channel, Sender], signing_key: Callable[[], Ed25519PrivateKey],
           *, uow: UnitOfWork, clock: Clock, per_client_hour: int, per_contact_hour: int,
           trust_forwarded_for: bool = False) -> APIRouter:
    api = APIRouter(prefix="/api/v1/public", tags=["public"])
    per_client, per_contact = RateLimiter(Limit(per_client_hour, HOUR)), RateLimiter(Limit(per_contact_hour, HOUR))

    async def save(challenge: Challenge, audit: Audit) -> None:
        async def work(session: Session) -> list[Event]:
            await challenges.put(challenge.id, challenge, session)
            return []

        await uow.run(work, audit=audit)

    @api.post("/contact-verifications", status_code=202, responses=errors(409, 429),
              summary="Send a one-time code to a phone or e-mail (no login)")
    async def request_code(body: VerificationRequest, request: Request) -> dict[str, object]:
        _usable(signing_key)
        channel, address = _checked(body)
        sender = senders.get(channel)
        if sender is None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"{CHANNEL_NAMES[channel]}通道未开通，请改用其他方式")
        digest = contact_proof.contact_digest(address)
        enforce((per_client, client_key(request, trust_forwarded_for)), (per_contact, digest))
        now, code, challenge_id = clock(), f"{secrets.randbelow(10**6):06d}", f"V-{uuid.uuid4().hex[:16]}"
        challenge = Challenge(id=challenge_id, channel=channel, digest=digest, code_hash=_hash(challenge_id, code),
                              created_at=now, expires_at=now + CODE_TTL)
        if not (await sender.send(_message(challenge, address, code), None)).ok:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "验证码发送失败，请稍后再试")
        await save(challenge, Audit.public(request, "contact.verification.send", "contact_verification",
                                           challenge.id, outcome=channel.value))
        return {"id": challenge.id, "expires_at": challenge.expires_at, "sent_to": _masked(address)}

    @api.post("/contact-verifications/{verification_id}/confirm", responses=errors(409),
              summary="Check the code; a right one returns the proof to present with an objection")
    async def confirm(verification_id: str, body: CodeSubmission, request: Request) -> dict[str, object]:
        now = clock()
        challenge = await challenges.get(verification_id)
        if challenge is None or challenge.expires_at <= now or challenge.verified_at is not None:
            # unknown, expired and used alike: the answer does not tell whether an id exists
            raise HTTPException(status.HTTP_409_CONFLICT, "验证码已失效或不存在，请重新获取")
        if challenge.attempts >= MAX_ATTEMPTS:
            raise HTTPException(status.HTTP_409_CONFLICT, "验证码错误次数过多，请重新获取")
        right = hmac.compare_digest(challenge.code_hash, _hash(challenge.id, body.code))
        update = {"verified_at": now} if right else {"attempts": challenge.attempts + 1}
        await save(challenge.model_copy(update=update), Audit.public(
            request, "contact.verification.confirm", "contact_verification", challenge.id,
            outcome="通过" if right else "验证码错误"))
        if not right:
            raise RequestValidationError([{"loc": ("body", "code"), "type": "value_error", "msg": "验证码不正确"}])
        issued = utc_now()  # the registry checks the proof's expiry against the wall clock, not a test clock
        proof = contact_proof.issue(signing_key(), challenge.digest, challenge.id, issued, PROOF_TTL)
        return {"proof": proof, "header": contact_proof.HEADER, "expires_at": issued + PROOF_TTL}

    return api
