"""The shape of an event handler: ``async def on_x(event, uow: EventUnit) -> list[Event]``, run by the runtime in
one unit of work that records the event as consumed under a key derived from the handler's name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import Event

from zhongshi_runtime.audit import Audit
from zhongshi_runtime.outbox import Consumed, Session, Step, UnitOfWork

E = TypeVar("E", bound=Event)


@dataclass
class EventUnit:
    """One delivery of an event, as its handler sees it: the transaction's ``session``, the CloudEvent ``meta``,
    and what to do once the delivery committed (`after_commit`; never for a duplicate)."""

    session: Session
    meta: CloudEvent
    _after: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, effect: Callable[[], None]) -> None:
        """Run ``effect`` (a metric, a wake-up) once the transaction committed; a retried transaction forgets it."""
        self._after.append(effect)

    def committed(self) -> None:
        for effect in self._after:
            effect()


TxHandler = Callable[[E, EventUnit], Awaitable[list[Event]]]
AuditOf = Callable[[Consumed], Audit]


@dataclass(frozen=True)
class Transactional(Generic[E]):
    """A handler wrapped in its unit of work: ``(event, meta) -> None``, the shape the consumer calls.

    ``key`` is ``<service>.<handler name>``: with the event id it is the processed-event record, so it must not
    change while events it consumed may be redelivered."""

    handler: TxHandler[E]
    uow: UnitOfWork
    key: str
    audit: AuditOf | None = None

    async def __call__(self, event: E, meta: CloudEvent) -> None:
        step, units = self.step(event, meta)
        if await self.uow.run(step.work, consumed=step.consumed, audit=step.audit) and units:
            units[0].committed()

    def step(self, event: E, meta: CloudEvent) -> tuple[Step, list[EventUnit]]:
        """One delivery as a unit of work's step, and where its `EventUnit` will be once the step ran (to call
        `EventUnit.committed` after the commit)."""
        units: list[EventUnit] = []

        async def work(session: Session) -> list[Event]:
            units[:] = [EventUnit(session, meta)]  # a retried transaction starts afresh
            return await self.handler(event, units[0])

        consumed = Consumed(self.key, meta, event.topic.name, event)
        return Step(work, consumed, self.audit(consumed) if self.audit else None), units


def handler_key(service: str, handler: Callable[..., Any], name: str | None = None) -> str:
    """The idempotency key of ``handler``'s deliveries: ``<service>.<name or handler.__name__>``."""
    return f"{service}.{name or handler.__name__}"
