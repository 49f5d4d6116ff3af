"""The Mongo unit of work and the outbox relay on the real database: a redelivered event is absorbed by its
processed-event insert; the relay reads the outbox no more than it must."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationWithdrawn, Event
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import Consumed, MongoUnitOfWork, OutboxRelay, Session, Step
from zhongshi_runtime.plugins import Plugin
from zhongshi_runtime.testing import CountingBroker, watched

from zhongshi.polling import eventually

pytestmark = pytest.mark.integration


def withdrawn() -> ApplicationWithdrawn:
    return ApplicationWithdrawn(application_id="A1", round_id="R1", revision=1, withdrawn_at=datetime.now(UTC),
                                reason="—", applicant_credit_code="91420100MA4K000000", region_code="420102",
                                city_code="420100")


async def test_a_redelivered_event_changes_nothing_and_is_counted_once(mongo_db: Any) -> None:
    metrics, commits = RuntimeMetrics("probe"), []
    uow = MongoUnitOfWork(mongo_db.client, mongo_db, source="/zhongshi/probe", metrics=metrics,
                          on_outbox=lambda: commits.append(1))
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


async def test_only_a_commit_that_wrote_to_the_outbox_wakes_the_relay(mongo_db: Any) -> None:
    wakes: list[str] = []
    uow = MongoUnitOfWork(mongo_db.client, mongo_db, source="/zhongshi/probe", metrics=RuntimeMetrics("probe"),
                          on_outbox=lambda: wakes.append("woken"))

    def changing(*events: Event) -> Callable[[Session], Awaitable[list[Event]]]:
        async def work(session: Session) -> list[Event]:
            await mongo_db.changes.insert_one({}, session=session)
            return list(events)
        return work

    await uow.run(changing(), consumed=consumed_withdrawal())
    await uow.run_together([Step(changing(), consumed_withdrawal())])
    assert wakes == [] and await mongo_db.changes.count_documents({}) == 2
    await uow.run(changing(withdrawn()), consumed=consumed_withdrawal())
    await uow.run_together([Step(changing(withdrawn()), consumed_withdrawal())])
    assert wakes == ["woken", "woken"]


class CountingCommits(Plugin):
    def __init__(self) -> None:
        self.consumed_commits = 0

    def after_consumed_commit(self) -> None:
        self.consumed_commits += 1


def step(mongo_db: Any, consumed: Consumed, fail: bool = False) -> Step:
    """A consumed event's step: records how many changes it saw before its own, and publishes the event."""
    async def work(session: Session) -> list[Event]:
        seen = await mongo_db.changes.count_documents({}, session=session)
        await mongo_db.changes.insert_one({"event": consumed.event.id, "seen": seen}, session=session)
        if fail:
            raise RuntimeError("a handler's bug")
        return [withdrawn()]

    return Step(work, consumed)


def consumed_withdrawal() -> Consumed:
    event = withdrawn()
    return Consumed("probe.on_withdrawn", CloudEvent.new(event.topic, source="/test", subject="A1"), event.topic.name)


async def test_steps_run_together_commit_once_each_seeing_the_ones_before_and_skip_what_was_consumed(
        mongo_db: Any) -> None:
    metrics, commits, plugin = RuntimeMetrics("probe"), [], CountingCommits()
    uow = MongoUnitOfWork(mongo_db.client, mongo_db, source="/zhongshi/probe", metrics=metrics,
                          on_outbox=lambda: commits.append(1), plugins=plugin)
    before, first, second = consumed_withdrawal(), consumed_withdrawal(), consumed_withdrawal()
    assert await uow.run(step(mongo_db, before).work, consumed=before) is True
    together = [step(mongo_db, c) for c in (before, first, first, second)]  # one consumed already, one twice
    assert await uow.run_together(together) == [False, True, False, True]
    changes = [(d["event"], d["seen"]) async for d in mongo_db.changes.find({}, sort=[("seen", 1)])]
    assert changes == [(before.event.id, 0), (first.event.id, 1), (second.event.id, 2)]
    assert await mongo_db.processed_events.count_documents({}) == 3
    assert await mongo_db.outbox.count_documents({}) == 3 and await mongo_db.audit.count_documents({}) == 3
    assert commits == [1, 1] and plugin.consumed_commits == 3
    assert metrics.registry.get_sample_value("zhongshi_duplicate_events_total",
                                             {"service": "probe", "topic": withdrawn().topic.name}) == 2


async def test_a_failing_step_leaves_nothing_of_the_steps_run_together(mongo_db: Any) -> None:
    uow = MongoUnitOfWork(mongo_db.client, mongo_db, source="/zhongshi/probe", metrics=RuntimeMetrics("probe"),
                          on_outbox=lambda: None)
    with pytest.raises(RuntimeError, match="a handler's bug"):
        await uow.run_together([step(mongo_db, consumed_withdrawal()),
                                step(mongo_db, consumed_withdrawal(), fail=True)])
    for collection in ("changes", "processed_events", "outbox", "audit"):
        assert await mongo_db[collection].count_documents({}) == 0, collection


async def test_the_relay_reads_the_outbox_once_for_a_batch_that_held_everything(
        mongo_db: Any, scratch_uri: str) -> None:
    """A batch short of the relay's limit was all there was: the relay waits for the next commit's wake (or its
    poll) rather than reading the outbox again to find it empty."""
    db, commands = watched(scratch_uri, mongo_db.name)
    await db.outbox.insert_many([{"_id": f"e{n}", "seq": n, "topic": "pilot.application.submitted", "key": f"A{n}",
                                  "headers": {}, "value": "{}", "published_at": None, "refused": None}
                                 for n in range(3)])
    broker = CountingBroker()
    relay = OutboxRelay(db, broker, metrics=RuntimeMetrics("probe"), retention=timedelta(days=1),  # type: ignore[arg-type]
                        logger=logging.getLogger("test"), idle_poll_s=3600)
    reads_when_idle: list[int] = []

    async def idle() -> None:
        reads_when_idle.append(sum(1 for sent in commands.sent if (sent.name, sent.target) == ("find", "outbox")))
        await relay._wake.wait()  # set by `stop`

    relay._idle = idle  # type: ignore[method-assign]
    await relay.start()
    try:
        async def gone_idle() -> bool:
            return bool(reads_when_idle)

        await eventually(gone_idle, "the relay idle")
    finally:
        await relay.stop()
    assert broker.sent == 3 and reads_when_idle == [1]
