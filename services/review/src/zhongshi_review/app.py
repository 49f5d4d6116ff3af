"""The review service factory. Expert review lands with its own issue; today the service keeps the
withdrawals it will need (a withdrawn application must never reach a panel)."""

from __future__ import annotations

from fastapi import FastAPI
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationWithdrawn, Event
from zhongshi_runtime.outbox import Consumed, Session
from zhongshi_runtime.service import ServiceKit

from zhongshi_review.settings import ReviewSettings


def create_app(settings: ReviewSettings | None = None) -> FastAPI:
    settings = settings or ReviewSettings()
    kit = ServiceKit(settings, title="zhongshi review",
                     description="Expert pool, conflict-free panels, scoring, ranking and decisions.")

    @kit.consumers.on(ApplicationWithdrawn)
    async def on_withdrawn(event: ApplicationWithdrawn, meta: CloudEvent) -> None:
        async def work(session: Session) -> list[Event]:
            await kit.db.withdrawals.replace_one(
                {"_id": event.application_id},
                {"round_id": event.round_id, "withdrawn_at": event.withdrawn_at}, upsert=True, session=session,
            )
            return []

        await kit.uow.run(work, consumed=Consumed("review.on_withdrawn", meta, event.topic.name))

    return kit.asgi([])
