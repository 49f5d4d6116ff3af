"""Transactional outbox and idempotent consumer on MongoDB, and the relay that publishes the outbox.

A state change, the id of the event that caused it, its audit record and the events it causes are written
in one transaction (`MongoUnitOfWork.run`). The relay publishes unpublished outbox records in write order and
keeps published ones for a retention period, so a new (empty) embedded broker can be refilled.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar, overload

from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from faststream.kafka import KafkaBroker
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import Event
from zhongshi_contracts.projections import public_event_id, public_view
from zhongshi_contracts.topics import wire_name

from zhongshi_runtime.audit import Audit, stored
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.plugins import Plugin, Plugins
from zhongshi_runtime.queries import find_by_ids, id_batches

Session = Any  # AsyncClientSession for Mongo, None for the in-memory fakes
T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a request's work decided: the ``value`` its caller gets back, and the ``events`` it causes."""

    value: T
    events: Sequence[Event] = ()


Work = Callable[[Session], Awaitable["Sequence[Event] | Outcome[Any]"]]


def split(result: Sequence[Event] | Outcome[Any]) -> tuple[Any, Sequence[Event]]:
    """A work's result as (what `run` returns, the events to publish)."""
    if isinstance(result, Outcome):
        return result.value, result.events
    return True, result


@dataclass(frozen=True)
class Consumed:
    """The event a unit of work consumes: (handler, event id) is recorded once. ``about`` (the event's payload)
    lets its audit record name the application or round."""

    handler: str
    event: CloudEvent
    topic: str
    about: Event | None = None

    @property
    def key(self) -> str:
        return f"{self.handler}/{self.event.id}"


@dataclass(frozen=True)
class Step:
    """One consumed event's work, as `UnitOfWork.run_together` takes it with others."""

    work: Callable[[Session], Awaitable[Sequence[Event]]]
    consumed: Consumed
    audit: Audit | None = None


class UnitOfWork(Protocol):
    """Runs ``work`` atomically with its outgoing events and its audit record. A request's work must bring its
    `Audit` and returns an `Outcome`, whose value `run` returns; a consumed event's work returns its events, and
    `run` returns False when the event was already consumed. `run_together` runs several consumed events' works
    as one unit: each as `run` would, in order, and all or none of them committed."""

    @overload
    async def run(self, work: Callable[[Session], Awaitable[Outcome[T]]], *, audit: Audit) -> T: ...

    @overload
    async def run(self, work: Callable[[Session], Awaitable[Sequence[Event]]], *,
                  consumed: Consumed | None = None, audit: Audit | None = None) -> bool: ...

    async def run_together(self, steps: Sequence[Step]) -> list[bool]: ...


async def record_read(uow: UnitOfWork, audit: Audit) -> None:
    """Audit a read that hands out personal data or confidential material (a material's download, the expert
    pool, an export of the trail) before the answer is sent: none goes unrecorded. It changes nothing else."""
    async def nothing(_: Session) -> list[Event]:
        return []

    await uow.run(nothing, audit=audit)


def audit_of(service: str, consumed: Consumed | None, audit: Audit | None) -> Audit:
    """The audit a unit of work writes: the given one, else the consumed event's; a request without one is a bug."""
    if audit is not None:
        return audit
    if consumed is None:
        raise TypeError("a unit of work that consumes no event must be given its audit (who did what)")
    return Audit.consumed(service, consumed)


_memo: ContextVar[dict[Hashable, Any] | None] = ContextVar("zhongshi_transaction_memo", default=None)


def transaction_memo() -> dict[Hashable, Any]:
    """What this attempt of the running transaction has read, shared by every step `run_together` runs in it: an
    adapter keeps there a read that later steps repeat (the transaction reads one snapshot, so a second read would
    return the same) and writes through, or forgets, what it changes. A retried attempt starts empty; outside a
    transaction this is a new dict each time, so nothing is kept."""
    memo = _memo.get()
    return {} if memo is None else memo


@contextlib.contextmanager
def _remembering() -> Iterator[None]:
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


class _Sequence:
    """Monotonic write order for outbox records within a process."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        self._last = max(time.time_ns(), self._last + 1)
        return self._last


def outbox_records(event: Event, *, source: str, seq: Callable[[], int], at: datetime) -> list[dict[str, Any]]:
    """The stored form of an outgoing event and, when it carries personal data, of its public projection."""
    whole = outbox_record(event, source=source, seq=seq(), at=at)
    public = public_view(event)
    if public is None:
        return [whole]
    return [whole, outbox_record(public, source=source, seq=seq(), at=at, event_id=public_event_id(whole["_id"]))]


def outbox_record(event: Event, *, source: str, seq: int, at: datetime, event_id: str | None = None
                  ) -> dict[str, Any]:
    """The stored form of one outgoing event: CloudEvents headers, key and JSON value."""
    envelope = CloudEvent.new(event.topic, source=source, subject=event.application_id, at=at,
                              version=event.type_version)
    if event_id is not None:
        envelope = envelope.model_copy(update={"id": event_id})
    return {
        "_id": envelope.id,
        "seq": seq,
        "topic": event.wire_topic().name,
        "key": event.application_id,
        "headers": envelope.headers(),
        "value": event.model_dump_json(),
        "created_at": at,
        "published_at": None,
    }


class MongoUnitOfWork:
    """The Mongo adapter of `UnitOfWork`: one multi-document transaction, retried on write conflicts."""

    def __init__(
        self,
        client: AsyncMongoClient[Any],
        db: AsyncDatabase[Any],
        *,
        source: str,
        metrics: RuntimeMetrics,
        on_outbox: Callable[[], None],
        plugins: Plugin | None = None,
    ) -> None:
        """``on_outbox`` is called after each commit that wrote outbox records (the relay's wake-up)."""
        self.client, self.db, self.source, self.metrics = client, db, source, metrics
        self._on_outbox = on_outbox
        self.plugins = plugins or Plugins()
        self._seq = _Sequence()

    async def run(self, work: Work, *, consumed: Consumed | None = None, audit: Audit | None = None) -> Any:
        trail = audit_of(self.metrics.service, consumed, audit)
        value: Any = None
        events: Sequence[Event] = ()

        # No lookup of the processed event first: its insert is the transaction's first write, so a redelivered
        # event fails there (duplicate key) and aborts, and the common case saves a round trip per event.
        async def transaction(session: Session) -> None:
            nonlocal value, events
            now = datetime.now(UTC)
            if consumed:
                await self.db.processed_events.insert_one(
                    {"_id": consumed.key, "topic": consumed.topic, "at": now}, session=session
                )
            with _remembering():
                value, events = split(await work(session))
            if events:
                await self.db.outbox.insert_many(self._outgoing(events, now), session=session)
            await self.db.audit.insert_one(self._audit_record(trail, now), session=session)
            await self.plugins.before_commit()

        async with self.client.start_session() as session:
            try:
                await session.with_transaction(transaction)
            except DuplicateKeyError as exc:
                if consumed and "processed_events" in str(exc):
                    self._count_duplicate(consumed)
                    return False
                raise
        if consumed:
            self.plugins.after_consumed_commit()
        if events:
            self._on_outbox()
        return value

    async def run_together(self, steps: Sequence[Step]) -> list[bool]:
        """One transaction for every step, in order, each seeing the ones before it: one lookup of the processed
        events, one insert per collection and one commit for all. A step whose event was consumed already (or
        earlier in ``steps``) is skipped: its entry in the result is False. A consumer that takes several events
        at a time saves most of its round trips; any failure leaves nothing of them written."""
        applied: list[bool] = []
        wrote = False

        async def transaction(session: Session) -> None:
            nonlocal wrote
            applied[:], wrote = await self._run_steps(steps, session)
            await self.plugins.before_commit()

        async with self.client.start_session() as session:
            await session.with_transaction(transaction)
        for step, fresh in zip(steps, applied, strict=True):
            if fresh:
                self.plugins.after_consumed_commit()
            else:
                self._count_duplicate(step.consumed)
        if wrote:
            self._on_outbox()
        return applied

    async def _run_steps(self, steps: Sequence[Step], session: Session) -> tuple[list[bool], bool]:
        """Run each step whose event is not consumed yet, then write the processed-event, outbox and audit records
        of them all; return which ran, and whether any wrote to the outbox."""
        now, keys = datetime.now(UTC), [step.consumed.key for step in steps]
        done = {d["_id"] async for d in find_by_ids(self.db.processed_events, keys, {"_id": 1}, session=session)}
        applied, processed, outgoing, trail = [], [], [], []
        with _remembering():
            for step in steps:
                applied.append(step.consumed.key not in done)
                if not applied[-1]:
                    continue
                done.add(step.consumed.key)
                outgoing += self._outgoing(await step.work(session), now)
                processed.append({"_id": step.consumed.key, "topic": step.consumed.topic, "at": now})
                trail.append(self._audit_record(audit_of(self.metrics.service, step.consumed, step.audit), now))
        for collection, documents in (("processed_events", processed), ("outbox", outgoing), ("audit", trail)):
            if documents:
                await self.db[collection].insert_many(documents, session=session)
        return applied, bool(outgoing)

    def _outgoing(self, events: Sequence[Event], now: datetime) -> list[dict[str, Any]]:
        return [r for e in events for r in outbox_records(e, source=self.source, seq=self._seq.next, at=now)]

    def _audit_record(self, trail: Audit, now: datetime) -> dict[str, Any]:
        return stored(trail.record(service=self.metrics.service, at=now, seq=self._seq.next()))

    def _count_duplicate(self, consumed: Consumed) -> None:
        # labelled like the other consumer series: by the topic read (an internal one for personal data)
        self.metrics.duplicates.labels(self.metrics.service, wire_name(consumed.topic)).inc()


async def ensure_outbox_indexes(db: AsyncDatabase[Any]) -> None:
    await db.outbox.create_index([("published_at", ASCENDING), ("seq", ASCENDING)])
    await db.outbox.create_index([("seq", ASCENDING)])


PENDING: dict[str, Any] = {"published_at": None, "refused": None}
RELAY_BATCH = 500  # records the relay reads at once
REFUSED: dict[str, Any] = {"refused": {"$ne": None}}
# Errors no retry can cure: retrying such a record would hold up every record after it for good. A connection
# or authorisation error is not among them (it passes, or an operator fixes it, and the record then goes).
REFUSED_FOR_GOOD: tuple[type[KafkaError], ...] = (MessageSizeTooLargeError,)


async def _settled(queued: Awaitable[Any] | KafkaError) -> KafkaError | None:
    """None once the broker has the record; the refusal when it refuses it for good; other errors raise."""
    if isinstance(queued, KafkaError):
        return queued
    try:
        await queued
    except REFUSED_FOR_GOOD as exc:
        return exc
    return None


class OutboxRelay:
    """Publishes outbox records in write order; plug-ins may ask it to publish the retained ones again."""

    def __init__(
        self,
        db: AsyncDatabase[Any],
        broker: KafkaBroker,
        *,
        metrics: RuntimeMetrics,
        retention: timedelta,
        logger: logging.Logger,
        idle_poll_s: float = 0.5,
        plugins: Plugin | None = None,
    ) -> None:
        self.db, self.broker, self.metrics = db, broker, metrics
        self.retention, self.logger, self.idle_poll_s = retention, logger, idle_poll_s
        self.plugins = plugins or Plugins()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        await self.plugins.relay_tick(self)
        self._task = asyncio.create_task(self._loop(), name="outbox-relay")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task:
            await self._task

    async def republish_retained(self) -> int:
        """Mark every retained (published) record for publishing again; return how many."""
        result = await self.db.outbox.update_many({"published_at": {"$ne": None}}, {"$set": {"published_at": None}})
        if result.modified_count:
            self.metrics.outbox_replays.labels(self.metrics.service).inc()
        return int(result.modified_count)

    async def publish_pending(self, limit: int = RELAY_BATCH) -> int:
        """Publish one batch of unpublished records in order; return how many it took. A record the broker
        refuses for good is set aside (`_refuse`) so the records after it are not held up."""
        docs = await self.db.outbox.find(PENDING).sort("seq", ASCENDING).to_list(limit)
        if not docs:
            return 0
        queued = [await self._queue(d) for d in docs]
        outcomes = await asyncio.gather(*map(_settled, queued))
        published = [d for d, refusal in zip(docs, outcomes, strict=True) if refusal is None]
        for d, refusal in zip(docs, outcomes, strict=True):
            if refusal is not None:
                await self._refuse(d, refusal)
        marked = {"$set": {"published_at": datetime.now(UTC)}}
        for batch in id_batches([d["_id"] for d in published]):
            await self.db.outbox.update_many({"_id": {"$in": batch}}, marked)
        for d in published:
            self.metrics.outbox_published.labels(self.metrics.service, d["topic"]).inc()
        return len(docs)

    async def _queue(self, doc: dict[str, Any]) -> Awaitable[Any] | KafkaError:
        try:
            return await self.broker.publish(
                doc["value"].encode(), topic=doc["topic"], key=doc["key"].encode(), headers=doc["headers"],
                no_confirm=True,
            )
        except REFUSED_FOR_GOOD as exc:
            return exc

    async def _refuse(self, doc: dict[str, Any], refusal: KafkaError) -> None:
        """Keep a record the broker will never take, marked with the reason, for the operator (it is never
        pruned, and `zhongshi_outbox_refused` counts it); the relay goes on with the records after it."""
        reason = f"{type(refusal).__name__}: {refusal}"[:500]
        await self.db.outbox.update_one({"_id": doc["_id"]}, {"$set": {"refused": {"at": datetime.now(UTC),
                                                                                   "reason": reason}}})
        self.logger.error("outbox record %s (%s) refused by the broker for good: %s", doc["_id"], doc["topic"],
                          reason)
        self.metrics.outbox_refused.labels(self.metrics.service).inc()  # the periodic count then keeps it exact

    async def prune(self) -> None:
        cutoff = datetime.now(UTC) - self.retention
        await self.db.outbox.delete_many({"published_at": {"$lt": cutoff}})

    async def _loop(self) -> None:
        failures = 0
        for tick in itertools.count():
            if self._stopping:
                return
            self._wake.clear()  # before reading, so a commit during the batch wakes the next round
            try:
                taken = await self.publish_pending() if await self.plugins.relay_tick(self) else 0
                if tick % 120 == 0:
                    await self.prune()
                    await self._count()
                failures = 0
            except Exception:
                failures += 1
                self.logger.exception("outbox relay failed (attempt %d); retrying", failures)
                await asyncio.sleep(min(5.0, 0.1 * 2**failures))
                continue
            if not taken:
                self.metrics.outbox_pending.labels(self.metrics.service).set(0)
            if taken < RELAY_BATCH:  # all there was: a commit since has woken the relay; the poll finds others'
                await self._idle()

    async def _count(self) -> None:
        service = self.metrics.service
        self.metrics.outbox_pending.labels(service).set(await self.db.outbox.count_documents(PENDING))
        self.metrics.outbox_refused.labels(service).set(await self.db.outbox.count_documents(REFUSED))

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.idle_poll_s)
