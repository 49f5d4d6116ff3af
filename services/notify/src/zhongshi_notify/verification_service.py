"""One-time codes that prove a phone or e-mail (联系方式验证), for objectors who do not log in. Notify sends
the code on its own channel and keeps only its hash; a right code earns a short-lived proof signed by
deps, which the registry checks with notify's public key. The code is never stored, logged or published."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from zhongshi_runtime import contact_proof
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.clock import Clock, utc_now
from zhongshi_runtime.errors import Refusal
from zhongshi_runtime.outbox import Session, UnitOfWork
from zhongshi_runtime.ratelimit import Limit, RateLimiter, enforce
from zhongshi_runtime.store import Store

from zhongshi_notify.channels import Sender
from zhongshi_notify.planning import Channel, Delivery
from zhongshi_notify.service import audited

CODE_TTL = timedelta(minutes=10)
PROOF_TTL = timedelta(minutes=30)
MAX_ATTEMPTS = 5
HOUR = 3600.0
CHANNEL_NAMES = {Channel.SMS: "短信", Channel.EMAIL: "邮件"}


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


class VerificationRefused(Refusal):
    """The channel is off, or the code is spent, expired or guessed too often (409)."""


class Unavailable(Refusal):
    """Verification cannot work now: no signing key, or the code could not be sent (503)."""

    status_code = 503


class Challenges:
    """The codes sent, by id (the port over their store)."""

    def __init__(self, store: Store[Challenge]) -> None:
        self.store = store

    async def challenge(self, challenge_id: str, session: Session = None) -> Challenge | None:
        return await self.store.get(challenge_id, session)

    async def save(self, challenge: Challenge, session: Session) -> None:
        await self.store.put(challenge.id, challenge, session)


@dataclass(frozen=True)
class Verifier:
    """What the verification use cases work with; the rate limiters count per client and per contact."""

    challenges: Challenges
    senders: dict[Channel, Sender]
    signing_key: Callable[[], Ed25519PrivateKey]
    uow: UnitOfWork
    clock: Clock
    per_client: RateLimiter
    per_contact: RateLimiter
    trust_forwarded_for: bool = False

    @classmethod
    def of(cls, store: Store[Challenge], senders: dict[Channel, Sender], signing_key: Callable[[], Ed25519PrivateKey],
           *, uow: UnitOfWork, clock: Clock, per_client_hour: int, per_contact_hour: int,
           trust_forwarded_for: bool = False) -> Verifier:
        return cls(Challenges(store), senders, signing_key, uow, clock, RateLimiter(Limit(per_client_hour, HOUR)),
                   RateLimiter(Limit(per_contact_hour, HOUR)), trust_forwarded_for)

    def usable(self) -> None:
        """503 before any code is sent when no proof could be signed (the key is not configured)."""
        try:
            self.signing_key()
        except (OSError, ValueError):
            raise Unavailable("联系方式验证暂未开通，请登录后提出异议") from None


def _hash(challenge_id: str, code: str) -> str:
    return hashlib.sha256(f"{challenge_id}:{code}".encode()).hexdigest()


def _message(challenge: Challenge, address: str, code: str) -> Delivery:
    """The code's message, sent at once and never stored (unlike a notice's delivery)."""
    minutes = int(CODE_TTL.total_seconds() // 60)
    return Delivery(id=f"verification/{challenge.id}", source_id=challenge.id, kind="verification",
                    channel=challenge.channel, recipient="public", address=address, title="异议提交验证码",
                    body=f"您提交公示异议的验证码为 {code}，{minutes}分钟内有效。如非本人操作请忽略。",
                    application_id="", created_at=challenge.created_at, next_attempt_at=challenge.created_at)


async def send_code(verifier: Verifier, channel: Channel, address: str, client: str, audit: Audit) -> Challenge:
    """Send a one-time code to a checked address, within the client's and the contact's hourly limits."""
    sender = verifier.senders.get(channel)
    if sender is None:
        raise VerificationRefused(f"{CHANNEL_NAMES[channel]}通道未开通，请改用其他方式")
    digest = contact_proof.contact_digest(address)
    enforce((verifier.per_client, client), (verifier.per_contact, digest))
    now, code, challenge_id = verifier.clock(), f"{secrets.randbelow(10**6):06d}", f"V-{uuid.uuid4().hex[:16]}"
    challenge = Challenge(id=challenge_id, channel=channel, digest=digest, code_hash=_hash(challenge_id, code),
                          created_at=now, expires_at=now + CODE_TTL)
    if not (await sender.send(_message(challenge, address, code), None)).ok:
        raise Unavailable("验证码发送失败，请稍后再试")
    audit.target_id, audit.outcome = challenge.id, channel.value
    await audited(verifier.uow, audit, lambda session: verifier.challenges.save(challenge, session))
    return challenge


def _tried(challenge: Challenge | None, code: str, now: datetime) -> Challenge:
    """The challenge after one more try of ``code``: verified, or with one attempt more; refused when spent."""
    if challenge is None or challenge.expires_at <= now or challenge.verified_at is not None:
        # unknown, expired and used alike: the answer does not tell whether an id exists
        raise VerificationRefused("验证码已失效或不存在，请重新获取")
    if challenge.attempts >= MAX_ATTEMPTS:
        raise VerificationRefused("验证码错误次数过多，请重新获取")
    right = hmac.compare_digest(challenge.code_hash, _hash(challenge.id, code))
    return challenge.model_copy(update={"verified_at": now} if right else {"attempts": challenge.attempts + 1})


async def confirm(verifier: Verifier, challenge_id: str, code: str, audit: Audit) -> dict[str, Any]:
    """Check the code; a right one returns the proof to present with an objection. The challenge is read and
    written back in one transaction: guesses sent at once conflict and are counted one after another, so no
    more than `MAX_ATTEMPTS` are ever tried, and a right code is traded for one proof."""
    now = verifier.clock()

    async def attempt(session: Session) -> Challenge:
        challenge = _tried(await verifier.challenges.challenge(challenge_id, session), code, now)
        audit.outcome = "通过" if challenge.verified_at else "验证码错误"
        await verifier.challenges.save(challenge, session)
        return challenge

    challenge = await audited(verifier.uow, audit, attempt)
    if challenge.verified_at is None:
        raise RequestValidationError([{"loc": ("body", "code"), "type": "value_error", "msg": "验证码不正确"}])
    issued = utc_now()  # the registry checks the proof's expiry against the wall clock, not a test clock
    proof = contact_proof.issue(verifier.signing_key(), challenge.digest, challenge.id, issued, PROOF_TTL)
    return {"proof": proof, "header": contact_proof.HEADER, "expires_at": issued + PROOF_TTL}
