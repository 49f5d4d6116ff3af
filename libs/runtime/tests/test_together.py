"""Handling a batch's events several to a transaction (``consumer_events_per_transaction``) ends as handling them
one by one: the same events applied in each key's order, the same dead letters and parked events. Whatever a
group cannot take (a body that does not parse, a redriven message, a parked subject, a step that fails) sends
the group back to the one-by-one path, retries and dead letters included."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from zhongshi_contracts.events import ApplicationWithdrawn, Event
from zhongshi_runtime.dead_letters import REDRIVE_HEADER
from zhongshi_runtime.handling import EventUnit
from zhongshi_runtime.messaging import Consumers, Rejected, create_broker, packed
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.settings import ServiceSettings
from zhongshi_runtime.testing import InMemoryUnitOfWork, envelope

from .test_dead_letters import WITHDRAWN, Ledger
from .test_lanes import Batch, Record

KINDS = ("ok", "ok", "ok", "rejected", "invalid", "again")  # "again": an earlier event delivered a second time


class Subject:
    """A consumer over an in-memory unit of work and ledger, recording what its handler applied and published."""

    def __init__(self, per_transaction: int) -> None:
        options = ServiceSettings(consumer_concurrency=3, consumer_events_per_transaction=per_transaction,
                                  handler_retry_backoff_s=0)
        metrics, logger = RuntimeMetrics("probe"), logging.getLogger("test")
        self.ledger, self.uow = Ledger(), InMemoryUnitOfWork("probe")
        self.consumers = Consumers(create_broker(options, metrics, logger), options, metrics, logger,
                                   ledger=self.ledger)  # type: ignore[arg-type]
        self.applied: dict[str, list[str]] = defaultdict(list)  # by application, in the order committed
        self.dead: list[tuple[str, str]] = []
        self.together: list[int] = []
        self.consumers.broker.publish = self._publish  # type: ignore[method-assign,assignment]
        self.consumers.within(self.uow)(ApplicationWithdrawn)(self.on_withdrawn)
        run_together = self.uow.run_together

        async def counted(steps: Any) -> list[bool]:
            self.together.append(len(steps))
            return await run_together(steps)

        self.uow.run_together = counted  # type: ignore[method-assign]

    async def on_withdrawn(self, event: ApplicationWithdrawn, unit: EventUnit) -> list[Event]:
        if event.reason == "rejected":
            raise Rejected("unknown rule set")
        unit.after_commit(lambda: self.applied[event.application_id].append(unit.meta.id))  # kept when committed
        return []

    async def _publish(self, body: bytes, *, topic: str, key: Any, headers: dict[str, str]) -> None:
        self.dead.append((headers["ce_id"], headers["dlq_kind"]))


def records(plan: list[tuple[int, str]], first: int = 0) -> list[Record]:
    """One record per (application, kind), offsets in order from ``first``; "again" repeats that application's
    last event."""
    made: list[Record] = []
    for offset, (app, kind) in enumerate(plan, start=first):
        earlier = [r for r in made if r.key == f"A{app}".encode()]
        event_id = dict(earlier[-1].headers)["ce_id"].decode() if kind == "again" and earlier else f"e{offset}"
        event = WITHDRAWN.model_copy(update={"application_id": f"A{app}", "reason": kind})
        sent = envelope(event, ce_id=event_id)
        body = b"{not json" if kind == "invalid" else sent["message"]
        made.append(Record(sent["topic"], app % 2, offset, sent["key"], body,
                           tuple((k, v.encode()) for k, v in sent["headers"].items())))
    return made


@settings(max_examples=60)
@given(plan=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(KINDS)), min_size=1, max_size=30),
       per_transaction=st.integers(2, 12), cut=st.integers(1, 30))
async def test_several_to_a_transaction_ends_as_one_by_one(plan: list[tuple[int, str]], per_transaction: int,
                                                          cut: int) -> None:
    batch = records(plan)
    alone, together = Subject(1), Subject(per_transaction)
    for subject in (alone, together):
        for start in range(0, len(batch), cut):  # fetched in batches of ``cut`` records
            await subject.consumers.dispatch_batch(Batch(batch[start:start + cut]))  # type: ignore[arg-type]
    assert together.applied == alone.applied
    assert together.dead == alone.dead
    assert together.ledger.entries == alone.ledger.entries and together.ledger.parking == alone.ledger.parking


async def test_a_clean_group_is_one_transaction_and_its_after_commit_effects_run() -> None:
    subject = Subject(per_transaction=10)
    await subject.consumers.dispatch_batch(Batch(records([(0, "ok"), (1, "ok"), (0, "ok")])))  # type: ignore[arg-type]
    assert subject.together == [3]
    assert subject.applied == {"A0": ["e0", "e2"], "A1": ["e1"]}
    assert subject.uow.consumed == {"service.on_withdrawn/e0", "service.on_withdrawn/e1", "service.on_withdrawn/e2"}
    assert len(subject.uow.audit) == 3


async def test_a_parked_subject_or_a_redriven_message_sends_its_group_one_by_one() -> None:
    subject = Subject(per_transaction=10)
    subject.ledger.parking["A0"] = "pilot.application.withdrawn:0:99"
    await subject.consumers.dispatch_batch(Batch(records([(1, "ok"), (0, "ok")])))  # type: ignore[arg-type]
    assert subject.together == [] and subject.applied == {"A1": ["e0"]} and subject.dead == [("e1", "parked")]

    redriven = records([(2, "ok"), (3, "ok")], first=2)
    redriven[0] = redriven[0]._replace(headers=(*redriven[0].headers, (REDRIVE_HEADER, b"pilot.x:0:1")))
    await subject.consumers.dispatch_batch(Batch(redriven))  # type: ignore[arg-type]
    assert subject.together == [] and subject.applied["A2"] == ["e2"] and subject.applied["A3"] == ["e3"]


def test_whole_lanes_are_packed_in_order_and_a_long_lane_is_a_group_alone() -> None:
    assert packed([[1, 2], [3], [4, 5, 6, 7], [8]], 3) == [[1, 2, 3], [4, 5, 6, 7], [8]]
    assert packed([[1], [2]], 1) == [[1], [2]]
