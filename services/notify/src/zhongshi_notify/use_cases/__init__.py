"""Notify's use cases: plain async functions taking their inputs, the audit of the request, and `Deps` (the
repositories, the unit of work, the clock and the webhook rules). Their refusals are `Refusal`s the kit maps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from zhongshi_runtime.audit import Audit
from zhongshi_runtime.clock import Clock
from zhongshi_runtime.outbox import Outcome, Session, UnitOfWork

from zhongshi_notify.deliveries import DeliveryStore
from zhongshi_notify.egress import EgressGuard
from zhongshi_notify.repository import NotifyRepository

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
