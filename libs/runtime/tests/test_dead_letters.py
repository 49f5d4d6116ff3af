"""Issue 18 item 10: transient errors are waited out (backoff with jitter, for minutes by default) before
anything is dead-lettered; permanent ones are dead-lettered at once; the ledger parks a subject's later events
behind its dead letter and releases them one at a time, in order, after the redrive."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker
from pymongo import AsyncMongoClient
from pymongo.errors import AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationWithdrawn
from zhongshi_runtime.dead_letters import REDRIVE_HEADER, DeadLetter, DeadLetterLedger, Letter
from zhongshi_runtime.messaging import Consumers, Rejected, create_broker
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.retrying import Backoff, transient
from zhongshi_runtime.settings import ServiceSettings
from zhongshi_runtime.testing import Gate, HandlerHarness, envelope, race, watched

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
WITHDRAWN = ApplicationWithdrawn(application_id="A1", round_id="R1", revision=1, withdrawn_at=NOW, reason="",
                                 applicant_credit_code="91420111MA0000000W", region_code="420111",
                                 city_code="420100")


def harness(fail: Any, **settings: Any) -> tuple[HandlerHarness, list[float]]:
    options = {"handler_retry_backoff_s": 0.05, "handler_transient_backoff_max_s": 0.2, **settings}
    h = HandlerHarness(ServiceSettings(**options))
    calls: list[float] = []

    @h.consumers.on(ApplicationWithdrawn)
    async def handle(event: ApplicationWithdrawn, meta: CloudEvent) -> None:
        calls.append(time.monotonic())
        fail(calls)

    return h, calls


async def test_a_database_outage_longer_than_the_old_retries_is_waited_out() -> None:
    def down_for_a_second(calls: list[float]) -> None:
        if calls[-1] - calls[0] < 1.0:  # the old policy gave up after 0.05 + 0.1 s
            raise ServerSelectionTimeoutError("mongo-0:27017: connection refused")

    h, calls = harness(down_for_a_second, handler_transient_retry_s=60)
    async with TestKafkaBroker(h.ready()) as broker:
        await broker.publish(**envelope(WITHDRAWN))
    assert h.dead_letters == [] and calls[-1] - calls[0] >= 1.0 and len(calls) > 3


async def test_a_transient_error_outlasting_its_budget_is_dead_lettered_as_failed() -> None:
    def down(calls: list[float]) -> None:
        raise NetworkTimeout("timed out")

    h, calls = harness(down, handler_transient_retry_s=0.5)
    async with TestKafkaBroker(h.ready()) as broker:
        await broker.publish(**envelope(WITHDRAWN))
    [(_, headers, _)] = h.dead_letters
    assert headers["dlq_kind"] == "failed" and "NetworkTimeout" in headers["dlq_reason"]
    assert calls[-1] - calls[0] >= 0.3


async def test_a_permanent_refusal_is_dead_lettered_at_once() -> None:
    def refuse(calls: list[float]) -> None:
        raise Rejected("unknown rule set")

    h, calls = harness(refuse, handler_transient_retry_s=60)
    async with TestKafkaBroker(h.ready()) as broker:
        await broker.publish(**envelope(WITHDRAWN))
    assert len(calls) == 1 and [d[1]["dlq_kind"] for d in h.dead_letters] == ["rejected"]


async def test_an_outage_waited_out_spends_none_of_the_plain_attempts() -> None:
    def down_then_one_error(calls: list[float]) -> None:
        if len(calls) <= 3:
            raise NetworkTimeout("timed out")
        if len(calls) == 4:
            raise ValueError("a bug met once")

    h, calls = harness(down_then_one_error, handler_transient_retry_s=60, handler_max_attempts=3)
    async with TestKafkaBroker(h.ready()) as broker:
        await broker.publish(**envelope(WITHDRAWN))
    assert h.dead_letters == [] and len(calls) == 5  # three waits, one plain failure of three, then applied


def test_transient_errors_are_told_from_permanent_ones_and_delays_grow_with_jitter_within_the_budget() -> None:
    assert all(map(transient, [AutoReconnect("x"), NetworkTimeout("x"), ServerSelectionTimeoutError("x"),
                               ConnectionRefusedError(), TimeoutError()]))
    assert not any(map(transient, [ValueError("x"), Rejected("x"), KeyError("x")]))
    backoff = Backoff(ServiceSettings(handler_retry_backoff_s=1, handler_transient_backoff_max_s=8,
                                      handler_transient_retry_s=200))
    delays = [backoff.next() or 0.0 for _ in range(6)]
    bounds = [(0.5, 1), (1, 2), (2, 4), (4, 8), (4, 8), (4, 8)]  # doubling, half of each step random, capped
    assert all(low <= d <= high for d, (low, high) in zip(delays, bounds, strict=True)), delays
    assert len({round(d, 6) for d in delays[3:]}) > 1  # jittered, not in lockstep
    assert Backoff(ServiceSettings(handler_transient_retry_s=0)).next() is None


def test_an_entry_is_named_by_its_place_and_its_event_as_offsets_may_start_again() -> None:
    before, after = letter(7, "3f9c2a1b-7d4e"), letter(7, "0a1b2c3d-4e5f")  # the same place, another event
    assert before.id == "pilot.application.withdrawn:0:7:3f9c2a1b" and after.id != before.id
    assert letter(7, "e/../x\n").id == "pilot.application.withdrawn:0:7:ex"  # what a URL path can carry
    redriven = letter(9, "3f9c2a1b-7d4e", **{REDRIVE_HEADER: before.id})
    assert redriven.id == before.id  # a redriven copy is its entry


def letter(offset: int, event_id: str, kind: str = "failed", **headers: str) -> Letter:
    return Letter(group="zhongshi-test", topic="pilot.application.withdrawn", partition=0, offset=offset, kind=kind,
                  reason="boom", key="A1", body=b'{"application_id": "A1"}',
                  headers={"ce_id": event_id, "ce_subject": "A1", "ce_type": "t", **headers})


@pytest.mark.integration
async def test_a_subject_is_parked_behind_its_dead_letter_and_released_in_order_after_the_redrive(
        mongo_db: Any) -> None:
    client: AsyncMongoClient[Any] = mongo_db.client
    ledger = DeadLetterLedger(client, mongo_db, "zhongshi-test")
    await ledger.ensure_indexes()
    first = letter(1, "e1")
    assert await ledger.must_wait(first.headers) is None
    await ledger.record(first)
    stored = await mongo_db.dead_letters.find_one({"_id": first.id})
    view = DeadLetter.model_validate(stored)  # the API's view is the stored entry without the message
    assert (view.id, view.event_id, view.status, view.subject) == (first.id, "e1", "dead", "A1")
    assert set(stored) - set(DeadLetter.model_fields) == {"_id", "key", "headers", "body", "seq"}
    assert await ledger.holds(first.id) and not await ledger.holds(letter(2, "e2").id)
    for n in (2, 3):  # later events of A1 wait behind e1
        later = letter(n, f"e{n}", kind="parked")
        assert await ledger.must_wait(later.headers) == first.id
        assert await ledger.park(later)
    assert await ledger.must_wait({"ce_id": "x", "ce_subject": "A2"}) is None  # other subjects flow
    assert await ledger.parks_any(["A2", "A1"]) and not await ledger.parks_any(["A2", ""])  # one read for a batch
    assert await ledger.sizes() == {("pilot.application.withdrawn", "dead"): 1,
                                    ("pilot.application.withdrawn", "parked"): 2}

    async with client.start_session() as session:
        await session.with_transaction(lambda s: ledger.redrive(first.id, s))
        assert await ledger.redrive(first.id, None) is None  # once

    async def republished() -> list[dict[str, str]]:
        return [d["headers"] async for d in mongo_db.outbox.find({}).sort("seq", 1)]

    [head] = await republished()
    assert head["ce_id"] == "e1" and head[REDRIVE_HEADER] == first.id and "dlq_kind" not in head
    assert await ledger.must_wait(head) is None  # the redriven head is handled ...
    assert await ledger.must_wait(letter(9, "e9").headers) == first.id  # ... a newcomer still waits
    assert await ledger.handled(head) == "pilot.application.withdrawn:0:2:e2"  # then e2 is released, alone
    second = (await republished())[1]
    assert second["ce_id"] == "e2" and await ledger.must_wait(second) is None
    assert await ledger.must_wait(letter(3, "e3").headers) is not None  # e3 still after e2
    assert await ledger.handled(second) == "pilot.application.withdrawn:0:3:e3"
    third = (await republished())[2]
    assert third["ce_id"] == "e3" and await ledger.handled(third) is None
    assert await mongo_db.dlq_parking.count_documents({}) == 0 and await ledger.sizes() == {}
    assert await ledger.must_wait(letter(10, "e10").headers) is None and not await ledger.parks_any(["A1"])
    await client.close()


async def parked_head(mongo_db: Any) -> tuple[DeadLetterLedger, Letter, dict[str, str]]:
    """A ledger whose subject A1 is parked behind e1, redriven: e1's republished headers, about to be handled."""
    ledger = DeadLetterLedger(mongo_db.client, mongo_db, "zhongshi-test")
    await ledger.ensure_indexes()
    head = letter(1, "e1")
    await ledger.record(head)
    async with mongo_db.client.start_session() as session:
        await session.with_transaction(lambda s: ledger.redrive(head.id, s))
    redriven = await mongo_db.outbox.find_one({})
    return ledger, head, redriven["headers"]


@pytest.mark.integration
async def test_an_event_that_found_its_subject_parked_is_handled_when_the_head_was_released_meanwhile(
        mongo_db: Any) -> None:
    """e2 read the parking record (behind e1) just before e1's redrive was handled and released the subject:
    parking e2 now would keep it for good, since no release would come for it."""
    ledger, head, redriven = await parked_head(mongo_db)
    later = letter(2, "e2", kind="parked")
    assert await ledger.must_wait(later.headers) == head.id
    assert await ledger.handled(redriven) is None  # nothing was parked yet: the subject is released
    assert not await ledger.park(later)  # so e2 is not parked: the consumer handles it
    assert not await ledger.holds(later.id) and await mongo_db.dlq_parking.count_documents({}) == 0
    await mongo_db.client.close()


@pytest.mark.integration
async def test_a_later_dead_letter_of_a_parked_subject_does_not_take_the_heads_place(mongo_db: Any) -> None:
    """An event that cannot be read is dead-lettered before the parking is consulted: were it the head, the
    redriven head's release would find another head and release nothing behind it."""
    ledger, head, redriven = await parked_head(mongo_db)
    later = letter(2, "e2", kind="parked")
    assert await ledger.park(later)
    await ledger.record(letter(3, "e3", kind="invalid"))
    assert (await mongo_db.dlq_parking.find_one({"_id": "A1"}))["head"] == head.id
    assert await ledger.handled(redriven) == later.id  # e2 is released after e1, as it would have been
    await mongo_db.client.close()


class GatedEntries:
    """``dead_letters`` whose first replacement (parking's entry) pauses once the gate is armed."""

    def __init__(self, collection: Any, gate: Gate) -> None:
        self.collection, self.gate = collection, gate

    def __getattr__(self, name: str) -> Any:
        return getattr(self.collection, name)

    async def replace_one(self, *args: Any, **kwargs: Any) -> Any:
        await self.gate.pause()
        return await self.collection.replace_one(*args, **kwargs)


class GatedDatabase:
    def __init__(self, db: Any, gate: Gate) -> None:
        self.db, self.dead_letters = db, GatedEntries(db.dead_letters, gate)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


@pytest.mark.integration
async def test_a_release_and_a_parking_at_once_leave_the_parked_event_released(mongo_db: Any,
                                                                             scratch_uri: str) -> None:
    """The release reads that nothing is parked and drops the parking record while e2's parking, which read the
    record, has not committed: the two write the record, so the release runs again and releases e2."""
    db, commands = watched(scratch_uri, mongo_db.name)
    ledger, _, redriven = await parked_head(db)
    gate = Gate()
    ledger.db = GatedDatabase(db, gate)  # type: ignore[assignment]
    later = letter(2, "e2", kind="parked")
    await race(ledger.park(later), ledger.handled(redriven), gate, commands)
    assert "WriteConflict" in commands.failures
    [released] = [d["headers"] async for d in db.outbox.find({"headers.ce_id": "e2"})]
    assert released[REDRIVE_HEADER] == later.id
    assert (await db.dlq_parking.find_one({"_id": "A1"}))["head"] == later.id  # released next, after e2
    await db.client.close()


class Ledger:
    """The ledger's parking rules in memory (the real one is tested on the database above)."""

    def __init__(self) -> None:
        self.entries: dict[str, str] = {}
        self.parking: dict[str, str] = {}

    async def must_wait(self, headers: dict[str, str]) -> str | None:
        return self.parking.get(headers.get("ce_subject", ""))

    async def parks_any(self, subjects: Any) -> bool:
        return any(s in self.parking for s in subjects)

    async def holds(self, entry_id: str) -> bool:
        return entry_id in self.entries

    async def record(self, letter: Letter) -> None:
        self.entries[letter.id] = "dead"
        self.parking.setdefault(letter.subject, letter.id)

    async def park(self, letter: Letter) -> bool:
        self.entries[letter.id] = "parked"
        return True

    async def handled(self, headers: dict[str, str]) -> None:
        return None


async def test_a_batch_read_again_after_a_nack_keeps_its_dead_letter_the_head_and_parks_nothing_twice() -> None:
    """With lanes, a batch is read again whole when any lane failed: the dead letter read again must stay the
    redrivable head (not park behind itself) and a parked event must not be parked a second time."""
    from .test_lanes import Batch, Record

    settings = ServiceSettings(consumer_concurrency=4)
    metrics, logger = RuntimeMetrics("probe"), logging.getLogger("test")
    ledger = Ledger()
    consumers = Consumers(create_broker(settings, metrics, logger), settings, metrics, logger,
                          ledger=ledger)  # type: ignore[arg-type]
    published: list[dict[str, str]] = []

    async def publish(body: bytes, *, topic: str, key: Any, headers: dict[str, str]) -> None:
        published.append(headers)

    consumers.broker.publish = publish  # type: ignore[method-assign,assignment]

    @consumers.on(ApplicationWithdrawn)
    async def refuse_the_first(event: ApplicationWithdrawn, meta: CloudEvent) -> None:
        if meta.id == "e0":
            raise Rejected("unknown rule set")

    def record(offset: int) -> Record:
        sent = envelope(WITHDRAWN, ce_id=f"e{offset}")
        return Record(sent["topic"], 0, offset, sent["key"], sent["message"],
                      tuple((k, v.encode()) for k, v in sent["headers"].items()))

    batch = Batch([record(0), record(1)])
    for _ in range(2):  # the second time as after a nack of the batch
        await consumers.dispatch_batch(batch)  # type: ignore[arg-type]
    head = f"{WITHDRAWN.topic.name}:0:0:e0"
    assert ledger.parking == {"A1": head}
    assert ledger.entries == {head: "dead", f"{WITHDRAWN.topic.name}:0:1:e1": "parked"}
    assert [h["dlq_kind"] for h in published] == ["rejected", "parked"]  # the second reading adds nothing
