"""Intake's handlers: downstream events become steps of the applicant's timeline."""

from __future__ import annotations

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
from zhongshi_runtime.messaging import Consumers, Rejected
from zhongshi_runtime.outbox import Consumed, Session, UnitOfWork

from zhongshi_intake.domain import record_chain_step, record_screening
from zhongshi_intake.repository import IntakeRepository

CHAIN_STEPS: tuple[type[ChainStep], ...] = (
    ApplicationRecommended, ApplicationReturned, ApplicationRejected, ApplicationForwarded,
    ApplicationExceptionDecided,
)


def register(consumers: Consumers, uow: UnitOfWork, repo: IntakeRepository) -> None:
    """Subscribe intake's handlers."""

    @consumers.on(ApplicationScreened)
    async def on_screened(event: ApplicationScreened, meta: CloudEvent) -> None:
        async def work(session: Session) -> list[Event]:
            app = await repo.get(event.application_id, session)
            if app is None:
                raise Rejected(f"application {event.application_id} is unknown to intake")
            if not app.has_event(meta.id):
                await repo.save(record_screening(app, event, event_id=meta.id), session)
            return []

        await uow.run(work, consumed=Consumed("intake.on_screened", meta, event.topic.name))

    async def on_chain_step(event: ChainStep, meta: CloudEvent) -> None:
        async def work(session: Session) -> list[Event]:
            app = await repo.get(event.application_id, session)
            if app is None:
                raise Rejected(f"application {event.application_id} is unknown to intake")
            if not app.has_event(meta.id):
                await repo.save(record_chain_step(app, event, event_id=meta.id), session)
            return []

        await uow.run(work, consumed=Consumed("intake.on_chain_step", meta, event.topic.name))

    for step in CHAIN_STEPS:
        consumers.on(step)(on_chain_step)
