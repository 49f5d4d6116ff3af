"""Notify's use cases: plain async functions taking `Deps` (the repositories, the unit of work, the clock and the
webhook rules), their inputs and the audit of the request; their refusals are `Refusal`s the kit maps. Here: the
inbox, preferences, the officials' directory and webhook subscriptions; the public contact verification is in
`verification_service`."""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import AnyHttpUrl
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.clock import Clock
from zhongshi_runtime.errors import NotFound, must_exist
from zhongshi_runtime.outbox import Outcome, Session, UnitOfWork

from zhongshi_notify.deliveries import DeliveryStore
from zhongshi_notify.egress import EgressGuard, Refused
from zhongshi_notify.planning import Attempt, Contact, Preferences, Subscription
from zhongshi_notify.repository import NotifyRepository

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
T = TypeVar("T")


@dataclass(frozen=True)
class Deps:
    """What notify's use cases work with; ``topics`` are the event types a webhook may subscribe to."""

    repo: NotifyRepository
    store: DeliveryStore
    uow: UnitOfWork
    clock: Clock
    topics: Sequence[str]
    guard: EgressGuard = field(default_factory=EgressGuard)
    https_only: bool = False


async def audited(uow: UnitOfWork, audit: Audit, change: Callable[[Session], Awaitable[T]]) -> T:
    """Make ``change`` in one transaction with its audit record (it causes no event); return what it returns."""
    async def work(session: Session) -> Outcome[T]:
        return Outcome(await change(session))

    return await uow.run(work, audit=audit)


# ---- the inbox, preferences and the directory ----
async def mark_read(deps: Deps, message_id: str, reader: str, audit: Audit) -> None:
    """Mark one of the reader's messages read; another reader's message is not found."""
    async def change(session: Session) -> None:
        if not await deps.repo.mark_read(message_id, reader, session):
            raise NotFound("消息不存在")

    await audited(deps.uow, audit, change)


async def set_preferences(deps: Deps, reader: str, preferences: Preferences, audit: Audit) -> None:
    audit.outcome = "、".join(sorted(c for c, on in preferences.model_dump().items() if on is True))
    await audited(deps.uow, audit, lambda session: deps.repo.set_preferences(reader, preferences, session))


async def set_contact(deps: Deps, scope: str, contact: Contact, audit: Audit) -> None:
    await audited(deps.uow, audit, lambda session: deps.repo.set_directory_entry(scope, contact, session))


async def contact(deps: Deps, scope: str) -> Contact:
    return must_exist(await deps.repo.directory_entry(scope), f"{scope} 尚未登记通知地址")


# ---- webhook subscriptions ----
class NoSubscription(NotFound):
    def __init__(self) -> None:
        super().__init__("订阅不存在")


def invalid(loc: tuple[str | int, ...], msg: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", *loc), "msg": msg, "type": "value_error"}])


def signing_secret(given: str | None) -> str:
    """The given secret once checked, or a new one."""
    if given is None:
        return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    try:
        raw = base64.b64decode(given.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not given.startswith(SECRET_PREFIX) or not 24 <= len(raw) <= 64:
        raise invalid(("secret",), "密钥须为 whsec_ 加 24–64 字节的 base64 编码")
    return given


async def _checked_url(deps: Deps, url: AnyHttpUrl) -> None:
    """422 naming the URL unless it is https (in production) and reaches a public address."""
    if deps.https_only and url.scheme != "https":
        raise invalid(("url",), "生产环境的回调地址须使用 https")
    try:
        await deps.guard.check(str(url))
    except Refused as exc:  # a refused URL is bad input here: name the field
        raise invalid(("url",), exc.detail) from None


async def register(deps: Deps, url: AnyHttpUrl, event_types: list[str], secret: str | None, description: str,
                   audit: Audit) -> Subscription:
    """Register a subscription to some of the event types notify forwards."""
    for i, name in enumerate(event_types):
        if name not in deps.topics:
            raise invalid(("event_types", i), f"{name} 不是本服务转发的事件类型（可选：{'、'.join(deps.topics)}）")
    await _checked_url(deps, url)
    sub = Subscription(id=f"wh-{uuid.uuid4().hex[:16]}", url=str(url), secret=signing_secret(secret),
                       event_types=sorted(set(event_types)), description=description, created_at=deps.clock())
    audit.target_id, audit.outcome = sub.id, "、".join(sub.event_types)
    await audited(deps.uow, audit, lambda session: deps.store.add_subscription(sub, session))
    return sub


async def enable(deps: Deps, subscription_id: str, audit: Audit) -> Subscription:
    """Enable a subscription again, releasing its held deliveries: those held before the transaction, then, once
    it committed, any a dispatcher held meanwhile (having read the subscription as disabled just before)."""
    async def change(session: Session) -> Subscription:
        sub = await deps.store.enable(subscription_id, deps.clock(), session)
        if sub is None:
            raise NoSubscription()
        return sub

    enabled = await audited(deps.uow, audit, change)
    await deps.store.release_held(subscription_id, deps.clock())
    return enabled


async def delivery_log(deps: Deps, subscription_id: str, offset: int, limit: int) -> list[Attempt]:
    if await deps.store.subscription(subscription_id) is None:
        raise NoSubscription()
    return await deps.store.attempts(subscription_id, offset=offset, limit=limit)


async def delete(deps: Deps, subscription_id: str, audit: Audit) -> None:
    """Delete a subscription; its unsent deliveries fail."""
    async def change(session: Session) -> None:
        if not await deps.store.remove_subscription(subscription_id, session):
            raise NoSubscription()

    await audited(deps.uow, audit, change)


async def rotate(deps: Deps, subscription_id: str, audit: Audit) -> str:
    """Give a subscription a new signing secret, returned once; the old one stops signing at once."""
    secret = signing_secret(None)

    async def change(session: Session) -> None:
        if not await deps.store.rotate_secret(subscription_id, secret, session):
            raise NoSubscription()

    await audited(deps.uow, audit, change)
    return secret
