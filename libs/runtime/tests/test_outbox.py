"""The Mongo unit of work on the real database: a redelivered event is absorbed by its processed-event insert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationWithdrawn, Event
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import Consumed, MongoUnitOfWork, Session

pytestmark = pytest.mark.integration


def withdrawn() -> ApplicationWithdrawn:
    return ApplicationWithdrawn(application_id="A1", round_id="R1", revision=1, withdrawn_at=datetime.now(UTC),
                                reason="—", applicant_credit_code="91420100MA4K000000", region_code="420102",
                                city_code="420100")


async def test_a_redelivered_event_changes_nothing_and_is_counted_once(mongo_db: Any) -> None:
    metrics, commits = RuntimeMetrics("probe"), []
    uow = MongoUnitOfWork(mongo_db.client, mongo_db, source="/zhongshi/probe", metrics=metrics,
                          on_commit=lambda: commits.append(1))
    event = withdrawn()
    consumed = Consumed("probe.on_withdrawn", CloudEvent.new(event.topic, source="/test", subject="A1"),
                        event.topic.name)

    async def work(session: Session) -> list[Event]:
        await mongo_db.changes.insert_one({"event": consumed.event.id}, session=session)
        return [event]

    assert await uow.run(work, consumed=consumed) is True
    assert await uow.run(work, consumed=consumed) is False  # the same event again
    assert await mongo_db.changes.count_documents({}) == 1
    assert await mongo_db.outbox.count_documents({}) == 1
    assert await mongo_db.processed_events.count_documents({"_id": consumed.key}) == 1
    assert commits == [1]
    assert metrics.registry.get_sample_value("zhongshi_duplicate_events_total",
                                             {"service": "probe", "topic": event.topic.name}) == 1
