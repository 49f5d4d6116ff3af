"""Intake's handlers: downstream events become steps of the applicant's timeline."""

from __future__ import annotations

from collections.abc import Callable

from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationScreened, Event
from zhongshi_contracts.recommendation import (
    ApplicationExceptionDecided,
    ApplicationForwarded,
    ApplicationRecommended,
    ApplicationRejected,
    ApplicationReturned,
    ChainStep,
)
from zhongshi_contracts.registry import PlatformAccredited, PlatformCultivationListed, PublicityClosed
from zhongshi_contracts.review import PanelDrawn, ReviewDecided
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.messaging import Consumers, Rejected
from zhongshi_runtime.outbox import Consumed, Session, UnitOfWork

from zhongshi_intake.domain import (
    Application,
    record_chain_step,
    record_decision,
    record_listing,
    record_objection_upheld,
    record_panel,
    record_screening,
)
from zhongshi_intake.repository import IntakeRepository

CHAIN_STEPS: tuple[type[ChainStep], ...] = (
    ApplicationRecommended, ApplicationReturned, ApplicationRejected, ApplicationForwarded,
    ApplicationExceptionDecided,
)


def register(consumers: Consumers, uow: UnitOfWork, repo: IntakeRepository) -> None:
    """Subscribe intake's handlers."""

    async def record(event: Event, meta: CloudEvent, handler: str, change: Callable[[Application], Application]
                     ) -> None:
        """Apply ``change`` to the application once per event, in one transaction with the event's id."""
        async def work(session: Session) -> list[Event]:
            app = await repo.get(event.application_id, session)
            if app is None:
                raise Rejected(f"application {event.application_id} is unknown to intake")
            if not app.has_event(meta.id):
                await repo.save(change(app), session)
            return []

        await uow.run(work, consumed=Consumed(handler, meta, event.topic.name, event))

    @consumers.on(ApplicationScreened)
    async def on_screened(event: ApplicationScreened, meta: CloudEvent) -> None:
        await record(event, meta, "intake.on_screened", lambda app: record_screening(app, event, event_id=meta.id))

    async def on_chain_step(event: ChainStep, meta: CloudEvent) -> None:
        await record(event, meta, "intake.on_chain_step", lambda app: record_chain_step(app, event, event_id=meta.id))

    for step in CHAIN_STEPS:
        consumers.on(step)(on_chain_step)

    @consumers.on(PanelDrawn)
    async def on_panel_drawn(event: PanelDrawn, meta: CloudEvent) -> None:
        await record(event, meta, "intake.on_panel_drawn", lambda app: record_panel(app, event, event_id=meta.id))

    @consumers.on(ReviewDecided)
    async def on_decided(event: ReviewDecided, meta: CloudEvent) -> None:
        await record(event, meta, "intake.on_decided", lambda app: record_decision(app, event, event_id=meta.id))

    async def on_listed(event: PlatformAccredited | PlatformCultivationListed, meta: CloudEvent) -> None:
        await record(event, meta, "intake.on_listed", lambda app: record_listing(app, event, event_id=meta.id))

    consumers.on(PlatformAccredited)(on_listed)
    consumers.on(PlatformCultivationListed)(on_listed)

    @consumers.on(PublicityClosed)
    async def on_publicity_closed(event: PublicityClosed, meta: CloudEvent) -> None:
        """Keyed by the round: the applications an upheld objection declined (the others arrive as listings)."""
        declined = [d.application_id for d in event.decisions if d.changed_by_objection]

        async def work(session: Session) -> list[Event]:
            for application_id in declined:
                app = await repo.get(application_id, session)
                if app is not None and not app.has_event(meta.id):
                    await repo.save(record_objection_upheld(app, event, event_id=meta.id), session)
            return []

        consumed = Consumed("intake.on_publicity_closed", meta, event.topic.name, event)
        await uow.run(work, consumed=consumed, audit=Audit.consumed("intake", consumed, application_ids=declined))
