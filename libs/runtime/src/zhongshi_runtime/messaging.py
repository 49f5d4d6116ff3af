"""The broker factory and the consumer: CloudEvents parsing, retries, dead-lettering, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiokafka import ConsumerRebalanceListener, TopicPartition
from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.message import KafkaMessage as RecordMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.message import StreamMessage
from pydantic import ValidationError
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import Event
from zhongshi_contracts.topics import DLQ_SUFFIX

from zhongshi_runtime.dead_letters import REDRIVE_HEADER, DeadLetterLedger, Letter
from zhongshi_runtime.handling import AuditOf, EventUnit, Transactional, TxHandler, handler_key
from zhongshi_runtime.logs import bound
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import Step, UnitOfWork
from zhongshi_runtime.plugins import Plugin, Plugins
from zhongshi_runtime.retrying import Backoff, transient
from zhongshi_runtime.settings import ServiceSettings
from zhongshi_runtime.upcasting import default_upcasters

E = TypeVar("E", bound=Event)
Handler = Callable[[E, CloudEvent], Awaitable[None]]
Lane = Callable[[str, bytes | None], Hashable]


def by_key(topic: str, key: bytes | None) -> Hashable:
    """The default lane: the record's key (the application id), so one application's events keep their order."""
    return key if key else topic


# How long one look at the records aiokafka's fetcher holds may wait. `getmany` returns as soon as the fetcher
# holds records, so a long look costs no latency. FastStream's batch subscriber sleeps as long again after a look
# that found nothing, which would delay a record arriving during the sleep (and with short looks wakes an idle
# service hundreds of times a second), so it is given a look that never sleeps (`looks_without_sleeping`).
LOOK_MS = 1000


def looks_without_sleeping(subscriber: Any) -> None:
    """FastStream's batch ``subscriber`` with a look that waits up to its ``batch_timeout_ms`` for fetched records
    and, finding none, looks again at once (FastStream's own sleeps as long again first)."""
    async def get_msg(consumer: Any) -> tuple[Any, ...]:
        fetched = await consumer.getmany(timeout_ms=subscriber.batch_timeout_ms, max_records=subscriber.max_records)
        return tuple(itertools.chain.from_iterable(fetched.values()))

    subscriber.get_msg = get_msg


def packed(lanes: Iterable[list[Any]], size: int) -> list[list[Any]]:
    """Whole lanes packed in order into groups of at most ``size`` records (a longer lane is a group alone)."""
    groups: list[list[Any]] = []
    for lane in lanes:
        if groups and len(groups[-1]) + len(lane) <= size:
            groups[-1] += lane
        else:
            groups.append(list(lane))
    return groups


@dataclass(frozen=True)
class Parsed:
    """A message parsed for a transactional handler."""

    topic: str
    handler: Transactional[Any]
    event: Event
    meta: CloudEvent


class Rejected(Exception):
    """A handler's permanent refusal of an event (retrying cannot help): dead-letter it at once."""


def create_broker(settings: ServiceSettings, metrics: RuntimeMetrics, logger: logging.Logger,
                  plugins: Plugin | None = None) -> KafkaBroker:
    """A KafkaBroker acking only after the handler succeeded; per-message logs at DEBUG (they cost ~25 %).
    A plug-in may change its options (the embedded broker's turns idempotence off)."""
    options: dict[str, Any] = {"enable_idempotence": settings.idempotent_producer(), "acks": "all",
                               **(plugins or Plugins()).broker_options()}
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"zhongshi-{settings.service_name}",
        ack_policy=AckPolicy.ACK,
        security=settings.faststream_security(),
        middlewares=[KafkaPrometheusMiddleware(registry=metrics.registry, app_name=settings.service_name)],
        logger=logger,
        log_level=logging.DEBUG,
        description=f"zhongshi {settings.service_name} service",
        **options,
    )


async def raw_body(msg: StreamMessage[Any]) -> bytes:
    return msg.body


def describe_validation_error(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors())[:2000]


def unreadable_headers(record: Any) -> list[str]:
    """The names of the record's headers whose value is not UTF-8 (another producer's, in a legacy encoding)."""
    unreadable = []
    for name, value in getattr(record, "headers", None) or ():
        try:
            value.decode()
        except UnicodeDecodeError:
            unreadable.append(name)
    return unreadable


def _readable_copy(record: Any) -> Any:
    if not unreadable_headers(record):
        return record
    return replace(record, headers=[(k, v.decode(errors="replace").encode()) for k, v in record.headers])


async def readable_headers(record: Any, parse: Callable[[Any], Awaitable[KafkaMessage]]) -> KafkaMessage:
    """FastStream's parsing (``parse``) of the record, or of each record of a batch, with any header that is not
    UTF-8 read with U+FFFD in place of its bad bytes. FastStream reads headers as UTF-8 before any handler runs,
    and a record it cannot read would be acknowledged unread, with the whole batch around it. The message keeps
    the records as they came, so `Consumers._parse` finds the bad header and the record is dead-lettered."""
    msg = await parse(tuple(map(_readable_copy, record)) if isinstance(record, tuple) else _readable_copy(record))
    msg.raw_message = record
    return msg


def one_record(record: Any, batch: KafkaMessage) -> KafkaMessage:
    """One record of a fetched batch as a message of its own (never acked by itself: the batch is)."""
    headers = {k: v.decode(errors="replace") for k, v in record.headers}  # as `readable_headers` read them
    return RecordMessage(body=record.value or b"", headers=headers,
                         raw_message=record, consumer=batch.consumer)


class Assignments(ConsumerRebalanceListener):  # type: ignore[misc]
    """Counts the partition assignments the consumer receives (a storm of rebalances shows in metrics) and
    hands them to the plug-ins."""

    def __init__(self, metrics: RuntimeMetrics, plugins: Plugin | None = None) -> None:
        self.metrics, self.plugins = metrics, plugins or Plugins()
        self.consumer: Callable[[], Any] = lambda: None

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.metrics.rebalances.labels(self.metrics.service).inc()
        if assigned:
            await self.plugins.partitions_assigned(self.consumer, assigned)


class Consumers:
    """The service's one consumer group: routes each topic to its handler and never blocks a partition.

    A message that does not parse, or whose handler keeps failing (or raises `Rejected`), goes to
    ``<topic>.dlq`` with headers saying why and where it came from; then it is acked and the next
    message flows. When the DLQ itself cannot be written the message is nacked (read again), never
    acked: FastStream's `AckPolicy.ACK` acks on an unhandled exception, which would lose it.
    """

    def __init__(
        self, broker: KafkaBroker, settings: ServiceSettings, metrics: RuntimeMetrics, logger: logging.Logger,
        plugins: Plugin | None = None, ledger: DeadLetterLedger | None = None, lane: Lane = by_key,
    ) -> None:
        self.broker, self.settings, self.metrics, self.logger = broker, settings, metrics, logger
        self.ledger = ledger  # keeps dead letters for redrive and parks their subjects (None: broker DLQ only)
        self.plugins = plugins or Plugins()
        self.assignments = Assignments(metrics, self.plugins)
        self.group_id = f"zhongshi-{settings.service_name}"
        self._routes: dict[str, tuple[type[Event], Handler[Any]]] = {}
        self.lane = lane
        self.upcasters = default_upcasters()  # an older ce_type version is brought to the model's before validation

    def on(self, model: type[E]) -> Callable[[Handler[E]], Handler[E]]:
        """Decorator: handle ``model``'s topic (its internal one when it has) with the decorated coroutine."""

        def register(handler: Handler[E]) -> Handler[E]:
            self._routes[model.wire_topic().name] = (model, handler)
            return handler

        return register

    def within(self, uow: UnitOfWork) -> Callable[..., Callable[[TxHandler[E]], TxHandler[E]]]:
        """``on = consumers.within(uow)``; ``@on(Model)`` subscribes ``async def on_x(event, uow) -> list[Event]``,
        run in ``uow`` and recorded once per event under ``<service>.<handler name>`` (``name=`` keeps an old key;
        ``audit=`` builds the audit from the `Consumed` record)."""

        def on(model: type[E], *, name: str | None = None, audit: AuditOf | None = None
               ) -> Callable[[TxHandler[E]], TxHandler[E]]:
            def register(handler: TxHandler[E]) -> TxHandler[E]:
                key = handler_key(self.settings.service_name, handler, name)
                self.on(model)(Transactional(handler, uow, key, audit))
                return handler

            return register

        return on

    @property
    def keys(self) -> dict[str, str]:
        """Each topic's processed-event key prefix, for the handlers run in a unit of work."""
        return {topic: h.key for topic, (_, h) in sorted(self._routes.items()) if isinstance(h, Transactional)}

    @property
    def models(self) -> list[type[Event]]:
        return [self._routes[t][0] for t in self.topics]

    @property
    def topics(self) -> list[str]:
        return sorted(self._routes)

    def subscribe(self) -> None:
        """Register the one subscriber for every routed topic (call once, before the broker starts)."""
        if not self._routes:
            return
        self.metrics.consuming(self.topics)
        options: dict[str, Any] = dict(
            group_id=self.group_id,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.settings.kafka_session_timeout_ms // 4,  # several beats per timeout
            ack_policy=AckPolicy.ACK,
            decoder=raw_body,  # we parse ourselves, so a body that is not JSON reaches the DLQ
            parser=readable_headers,  # and so does a header that is not UTF-8
            listener=self.assignments,
            title=f"{self.settings.service_name}:consume",
            description="Consumes: " + ", ".join(self.topics),
        )
        if self.settings.consumer_concurrency > 1:
            subscriber = self.broker.subscriber(*self.topics, batch=True, max_records=self.settings.consumer_batch,
                                                batch_timeout_ms=LOOK_MS, **options)
            looks_without_sleeping(subscriber)
            subscriber(self.dispatch_batch)
        else:
            subscriber = self.broker.subscriber(*self.topics, **options)
            subscriber(self.dispatch_or_nack)
        self.assignments.consumer = lambda: subscriber.consumer

    async def dispatch_batch(self, msg: KafkaMessage) -> None:
        """Handle one fetched batch in groups, up to ``consumer_concurrency`` at a time. A group is whole lanes
        (a lane is a key: one application, its records in order) of about ``consumer_events_per_transaction``
        records, handled in one transaction when it can be (`_together`), else record by record. The batch is
        acked — its offsets committed — only when every record was handled or dead-lettered; otherwise it is
        nacked, every partition rewound to its first record of the batch, and read again (handlers are
        idempotent, so the records already done are no-ops)."""
        lanes: dict[Hashable, list[Any]] = {}
        for record in msg.raw_message:
            lanes.setdefault(self.lane(record.topic, record.key), []).append(record)
        slots = asyncio.Semaphore(self.settings.consumer_concurrency)
        together = self.settings.consumer_events_per_transaction

        async def drain(records: Sequence[Any]) -> None:
            async with slots:
                if together > 1 and len(records) > 1 and await self._together(records, msg):
                    return
                for record in records:
                    await self.dispatch(one_record(record, msg))

        outcomes = await asyncio.gather(*(drain(g) for g in packed(lanes.values(), together)),
                                        return_exceptions=True)
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        if failed:
            self.logger.error("could not handle nor dead-letter %d group(s): %r; the batch will be read again",
                              len(failed), failed[0])
            raise NackMessage() from failed[0]

    async def _together(self, records: Sequence[Any], batch: KafkaMessage) -> bool:
        """Handle ``records`` in one transaction (`UnitOfWork.run_together`) when each is a first delivery to a
        transactional handler of one unit of work and none of their subjects is parked; True when they were.
        False when not, or when the transaction failed: nothing of them is written then, and the caller handles
        them one by one, with retries, dead letters and parking."""
        ready = [parsed for record in records if (parsed := self._ordinary(one_record(record, batch)))]
        if len(ready) < len(records) or len({id(parsed.handler.uow) for parsed in ready}) != 1:
            return False
        steps = [self._step(parsed) for parsed in ready]
        try:
            if self.ledger is not None and await self.ledger.parks_any(parsed.meta.subject for parsed in ready):
                return False
            applied = await ready[0].handler.uow.run_together([step for step, _ in steps])
        except Exception as exc:
            self.logger.warning("could not handle %d events in one transaction: %r; handling them one by one",
                                len(ready), exc)
            return False
        for parsed, (_, units), fresh in zip(ready, steps, applied, strict=True):
            if fresh:
                for unit in units:
                    unit.committed()
                self._observe_delivery(parsed.topic, parsed.meta)
        return True

    def _ordinary(self, msg: KafkaMessage) -> Parsed | None:
        """The message as `_together` may take it: a first delivery (not redriven) that parses, to a transactional
        handler."""
        topic: str = msg.raw_message.topic  # type: ignore[union-attr]
        model, handler = self._routes[topic]
        if not isinstance(handler, Transactional) or REDRIVE_HEADER in msg.headers:
            return None
        try:
            event, meta = self._parse(model, msg)
        except (ValueError, TypeError):
            return None
        return Parsed(topic, handler, event, meta)

    def _parse(self, model: type[Event], msg: KafkaMessage) -> tuple[Event, CloudEvent]:
        """The message's event and envelope; `ValueError` or `TypeError` when either is malformed."""
        if unreadable := unreadable_headers(msg.raw_message):
            raise ValueError(f"headers not UTF-8 (read with U+FFFD for their bad bytes): {', '.join(unreadable)}")
        meta = CloudEvent.from_headers(msg.headers)
        return self.upcasters.parse(model, meta.type, msg.body), meta

    @contextlib.contextmanager
    def _attempt(self, topic: str, meta: CloudEvent) -> Iterator[None]:
        """One attempt at handling an event: timed, and hooked for the plug-ins (which may fail it)."""
        with self.metrics.handled.labels(self.metrics.service, topic).time():
            self.plugins.before_handle(meta.subject)
            yield

    def _step(self, parsed: Parsed) -> tuple[Step, list[EventUnit]]:
        """The message's step, timed, logged and hooked as `_handle_with_retries` does its attempts."""
        step, units = parsed.handler.step(parsed.event, parsed.meta)
        topic, meta = parsed.topic, parsed.meta

        async def work(session: Any) -> Sequence[Event]:
            with bound(event_id=meta.id, application_id=meta.subject, topic=topic), self._attempt(topic, meta):
                return await step.work(session)

        return replace(step, work=work), units

    async def dispatch(self, msg: KafkaMessage) -> None:
        record = msg.raw_message
        topic: str = record.topic  # type: ignore[union-attr]
        model, handler = self._routes[topic]
        try:
            event, meta = self._parse(model, msg)
        except (ValueError, TypeError) as exc:  # a malformed envelope is bad input, never a crash-and-redeliver
            reason = describe_validation_error(exc) if isinstance(exc, ValidationError) else repr(exc)
            await self.dead_letter(msg, topic, "invalid", reason)
            return
        with bound(event_id=meta.id, application_id=meta.subject, topic=topic):
            if self.ledger is not None and (head := await self._parked_behind(msg)) and await self._park(
                    msg, topic, f"waits for {head}, an earlier event of {meta.subject}"):
                return
            applied = await self._handle_with_retries(msg, topic, handler, event, meta)
            if applied and self.ledger is not None and (released := await self.ledger.handled(msg.headers)):
                self.logger.info("released the parked event %s after %s", released, meta.id)

    async def deliver(self, event: Event, meta: CloudEvent) -> None:
        """Hand one event straight to its topic's handler, as the live path does, but without retries, dead
        letters or parking: a replay reports what the handler refuses."""
        await self._routes[event.wire_topic().name][1](event, meta)

    async def _parked_behind(self, msg: KafkaMessage) -> str | None:
        """The dead letter this message must wait for; a database outage is waited out as a handler's is."""
        assert self.ledger is not None
        retry = Backoff(self.settings)
        while True:
            try:
                return await self.ledger.must_wait(msg.headers)
            except Exception as exc:
                if not transient(exc) or (delay := retry.next()) is None:
                    raise  # nacked: read again
                self.logger.warning("cannot read the parking record: %r; retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)

    async def dispatch_or_nack(self, msg: KafkaMessage) -> None:
        try:
            await self.dispatch(msg)
        except Exception as exc:
            self.logger.exception("could not handle nor dead-letter; the message will be read again")
            raise NackMessage() from exc

    async def _handle_with_retries(
        self, msg: KafkaMessage, topic: str, handler: Handler[Any], event: Event, meta: CloudEvent
    ) -> bool:
        """Handle the event; True when it was applied, False when it went to the DLQ.

        A transient error (database or network unreachable, a timeout) is retried with backoff and jitter for
        up to ``handler_transient_retry_s``; any other error ``handler_max_attempts`` times; `Rejected` never."""
        attempts, retry, failed = self.settings.handler_max_attempts, Backoff(self.settings), 0
        for attempt in itertools.count(1):
            try:
                with self._attempt(topic, meta):
                    await handler(event, meta)
            except Rejected as exc:
                await self.dead_letter(msg, topic, "rejected", str(exc))
                return False
            except Exception as exc:
                failed += not transient(exc)  # a database outage waited out spends none of the plain attempts
                delay = retry.next() if transient(exc) else retry.plain(failed, attempts)
                if delay is None:
                    self.logger.exception("handler failed (attempt %d); dead-lettering", attempt)
                    await self.dead_letter(msg, topic, "failed", f"{type(exc).__name__}: {exc}")
                    return False
                self.metrics.retries.labels(self.metrics.service, topic).inc()
                self.logger.warning("handler attempt %d failed: %r; retrying in %.1fs", attempt, exc, delay)
                await asyncio.sleep(delay)
            else:
                self._observe_delivery(topic, meta)  # after success, outside the retry: it can never fail one
                return True
        return False  # pragma: no cover - the loop only ends by returning

    def _observe_delivery(self, topic: str, meta: CloudEvent) -> None:
        """Event time to handled; a producer's clock far off is logged, never fatal."""
        try:
            age = (datetime.now(UTC) - meta.time).total_seconds()
            self.metrics.delivery.labels(self.metrics.service, topic).observe(max(0.0, age))
        except Exception:
            self.logger.warning("could not compute the delivery age of %s (ce_time %r)", meta.id, meta.time)

    async def _park(self, msg: KafkaMessage, topic: str, reason: str) -> bool:
        """Keep the message in the ledger behind its subject's dead letter; False when that subject was released
        since it was read (the message is handled now instead)."""
        assert self.ledger is not None
        letter = self._letter(msg, topic, "parked", reason)
        if await self.ledger.holds(letter.id):  # read again after a nacked batch: kept already
            self.logger.info("already in the ledger (%s); not parked twice", reason)
            return True
        if not await self.ledger.park(letter):
            self.logger.info("no longer parked (%s): handled now", reason)
            return False
        await self._copy_to_dlq(msg, topic, "parked", reason)
        return True

    async def dead_letter(self, msg: KafkaMessage, topic: str, kind: str, reason: str) -> None:
        await self._copy_to_dlq(msg, topic, kind, reason)
        if self.ledger is not None:  # before the ack: a failure here nacks, and the message is read again
            await self.ledger.record(self._letter(msg, topic, kind, reason))

    async def _copy_to_dlq(self, msg: KafkaMessage, topic: str, kind: str, reason: str) -> None:
        """The broker's copy on ``<topic>.dlq``, with where the message came from and why it is there."""
        record = msg.raw_message
        headers = {
            **msg.headers,
            "dlq_kind": kind,
            "dlq_reason": reason[:2000],
            "dlq_source_topic": topic,
            "dlq_source_partition": str(getattr(record, "partition", "")),
            "dlq_source_offset": str(getattr(record, "offset", "")),
            "dlq_consumer_group": self.group_id,
            "dlq_failed_at": datetime.now(UTC).isoformat(),
        }
        await self.broker.publish(msg.body, topic=topic + DLQ_SUFFIX, key=getattr(record, "key", None),
                                  headers=headers)
        self.metrics.dead_letters.labels(self.metrics.service, topic, kind).inc()
        self.logger.error("dead-lettered (%s): %s", kind, reason)

    def _letter(self, msg: KafkaMessage, topic: str, kind: str, reason: str) -> Letter:
        record, key = msg.raw_message, getattr(msg.raw_message, "key", None)
        return Letter(group=self.group_id, topic=topic, partition=int(getattr(record, "partition", -1)),
                      offset=int(getattr(record, "offset", -1)), kind=kind, reason=reason, body=msg.body,
                      key=key.decode(errors="replace") if isinstance(key, bytes) else key, headers=dict(msg.headers))
