"""P1's baseline: a bare loop — raw aiokafka and PyMongo's async API, no FastStream, no FastAPI, no pydantic, no
services — doing exactly the database and broker work one application costs our pipeline from submit to
screened, with documents of the same size (copied from the ones the stack just wrote):

1. submit (intake): read the application and the round, then one transaction: read the application, replace
   it, insert the outbox record;
2. intake's relay: read the unpublished outbox records, publish them, mark them published;
3. screening consumes `submitted`, then one transaction: insert the processed event, read the withdrawal and the
   case, upsert the case and the screening record, insert the outbox record; commit the offset (the rule set is
   read once per process);
4. screening's relay, as 2;
5. intake consumes `screened`, then one transaction: insert the processed event, read and replace the
   application; commit the offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from zhongshi_runtime.settings import ServiceSettings

from bench.pipeline import database_operations, per_application

SUBMITTED, SCREENED = "bench.bare.submitted", "bench.bare.screened"
FETCH_MAX_WAIT_MS = ServiceSettings.model_fields["kafka_fetch_max_wait_ms"].default  # the services' own


@dataclass
class Uris:
    """Intake's and screening's database servers, as the stack runs them."""

    intake: str
    screening: str

    def __iter__(self) -> Iterator[str]:
        return iter((self.intake, self.screening))


@dataclass
class Templates:
    """One of each document the pipeline wrote for an application, to be copied under new ids."""

    draft: dict[str, Any]
    submitted: dict[str, Any]
    screened_app: dict[str, Any]
    round_: dict[str, Any]
    intake_outbox: dict[str, Any]
    case: dict[str, Any]
    screening: dict[str, Any]
    screening_outbox: dict[str, Any]


async def templates(uris: Uris, round_id: str) -> Templates:
    """Copy one screened application's documents from the stack's databases."""
    intake_client: AsyncMongoClient[Any] = AsyncMongoClient(uris.intake, tz_aware=True)
    screening_client: AsyncMongoClient[Any] = AsyncMongoClient(uris.screening, tz_aware=True)
    try:
        intake, screening = intake_client.zhongshi_intake, screening_client.zhongshi_screening
        app = await intake.applications.find_one({"round_id": round_id, "status": {"$nin": ["draft", "submitted"]}})
        if app is None:
            raise RuntimeError(f"no screened application in round {round_id} to copy")
        draft = {**app, "status": "draft", "revision": 0, "timeline": []}
        submitted = {**app, "status": "submitted", "timeline": app["timeline"][:1]}
        found = [await intake.rounds.find_one({"_id": round_id}),
                 await intake.outbox.find_one({"topic": "pilot.application.submitted", "key": app["_id"]}),
                 await screening.cases.find_one({"_id": app["_id"]}),
                 await screening.screenings.find_one({"application_id": app["_id"]}),
                 await screening.outbox.find_one({"topic": "pilot.application.screened", "key": app["_id"]})]
        if any(doc is None for doc in found):
            raise RuntimeError("the stack's documents for the copied application are incomplete")
        round_, outbox, case, record, screened_outbox = found
        return Templates(draft, submitted, app, round_, outbox, case, record, screened_outbox)  # type: ignore[arg-type]
    finally:
        await intake_client.close()
        await screening_client.close()


@dataclass
class Relay:
    """The outbox relay's work: read unpublished records in order, publish, mark them published."""

    db: AsyncDatabase[Any]
    producer: AIOKafkaProducer
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False

    async def run(self) -> None:
        while not self.stopping:
            self.wake.clear()
            docs = await self.db.outbox.find({"published_at": None}).sort("seq", ASCENDING).to_list(500)
            if not docs:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), 0.5)
                continue
            sent = [await self.producer.send(d["topic"], d["value"].encode(), key=d["key"].encode(),
                                             headers=[(k, v.encode()) for k, v in d["headers"].items()])
                    for d in docs]
            await asyncio.gather(*sent)
            await self.db.outbox.update_many({"_id": {"$in": [d["_id"] for d in docs]}},
                                             {"$set": {"published_at": datetime.now(UTC)}})


class BareLoop:
    """The two services' work for ``n`` applications, in one process, with the same concurrency shape: ``clients``
    concurrent submitters, one consumer per service handling one message at a time, one relay per service."""

    def __init__(self, bootstrap: str, uris: Uris, t: Templates, n: int, clients: int) -> None:
        self.bootstrap, self.uris, self.t, self.n, self.clients = bootstrap, uris, t, n, clients
        self.intake_client: AsyncMongoClient[Any] = AsyncMongoClient(uris.intake, tz_aware=True)
        self.screening_client: AsyncMongoClient[Any] = AsyncMongoClient(uris.screening, tz_aware=True)
        run = uuid.uuid4().hex[:8]
        self.intake = self.intake_client[f"bench_bare_intake_{run}"]
        self.screening = self.screening_client[f"bench_bare_screening_{run}"]
        self.group = f"bench-bare-{run}"
        self.done = 0
        self.finished = asyncio.Event()

    async def prepare(self) -> list[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [NewTopic(t, 3, 1) for t in (SUBMITTED, SCREENED) if t not in existing]
            if missing:
                await admin.create_topics(missing)
        finally:
            await admin.close()
        ids = [f"bare-{uuid.uuid4().hex[:12]}" for _ in range(self.n)]
        await self.intake.rounds.insert_one(self.t.round_)
        await self.intake.applications.insert_many([{**self.t.draft, "_id": i} for i in ids])
        for db in (self.intake, self.screening):
            await db.outbox.create_index([("published_at", ASCENDING), ("seq", ASCENDING)])
            await db.processed_events.insert_one({"_id": "warm-up"})
        return ids

    async def submit(self, app_id: str, relay: Relay, seq: int) -> None:
        apps = self.intake.applications
        await apps.find_one({"_id": app_id})
        await self.intake.rounds.find_one({"_id": self.t.round_["_id"]})

        async def work(session: Any) -> None:
            await apps.find_one({"_id": app_id}, session=session)
            await apps.replace_one({"_id": app_id}, {**self.t.submitted, "_id": app_id}, session=session)
            record = {**self.t.intake_outbox, "_id": uuid.uuid4().hex, "key": app_id, "topic": SUBMITTED,
                      "seq": seq, "published_at": None, "created_at": datetime.now(UTC)}
            await self.intake.outbox.insert_one(record, session=session)

        async with self.intake_client.start_session() as session:
            await session.with_transaction(work)
        relay.wake.set()

    async def screen(self, app_id: str, event_id: str, relay: Relay, seq: int) -> None:
        db = self.screening
        key = f"screening.on_submitted/{event_id}"

        async def work(session: Any) -> None:
            await db.processed_events.insert_one({"_id": key, "topic": SUBMITTED, "at": datetime.now(UTC)},
                                                 session=session)
            await db.withdrawals.find_one({"_id": app_id}, session=session)
            await db.cases.find_one({"_id": app_id}, session=session)
            await db.cases.replace_one({"_id": app_id}, {**self.t.case, "_id": app_id}, upsert=True, session=session)
            await db.screenings.replace_one({"_id": f"{app_id}#1"}, {**self.t.screening, "_id": f"{app_id}#1"},
                                            upsert=True, session=session)
            record = {**self.t.screening_outbox, "_id": uuid.uuid4().hex, "key": app_id, "topic": SCREENED,
                      "seq": seq, "published_at": None, "created_at": datetime.now(UTC)}
            await db.outbox.insert_one(record, session=session)

        async with self.screening_client.start_session() as session:
            await session.with_transaction(work)
        relay.wake.set()

    async def record(self, app_id: str, event_id: str) -> None:
        apps = self.intake.applications
        key = f"intake.on_screened/{event_id}"

        async def work(session: Any) -> None:
            await self.intake.processed_events.insert_one({"_id": key, "topic": SCREENED, "at": datetime.now(UTC)},
                                                          session=session)
            await apps.find_one({"_id": app_id}, session=session)
            await apps.replace_one({"_id": app_id}, {**self.t.screened_app, "_id": app_id}, session=session)

        async with self.intake_client.start_session() as session:
            await session.with_transaction(work)
        self.done += 1
        if self.done == self.n:
            self.finished.set()

    async def consume(self, consumer: AIOKafkaConsumer, handle: Any) -> None:
        """One message at a time, its offset committed after its transaction, until the run is finished
        (returning, not cancelled: a cancelled commit would fail later, when the broker is gone)."""
        while not self.finished.is_set():
            for messages in (await consumer.getmany(timeout_ms=100, max_records=1)).values():
                for message in messages:
                    await handle(message.key.decode(), f"{message.topic}/{message.partition}/{message.offset}")
                    await consumer.commit()

    async def run(self) -> dict[str, Any]:
        ids = await self.prepare()
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=False)
        consumers = [AIOKafkaConsumer(topic, bootstrap_servers=self.bootstrap, group_id=f"{self.group}-{topic}",
                                      auto_offset_reset="earliest", enable_auto_commit=False,
                                      fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
                     for topic in (SUBMITTED, SCREENED)]
        await producer.start()
        for consumer in consumers:
            await consumer.start()
        intake_relay, screening_relay = Relay(self.intake, producer), Relay(self.screening, producer)
        seq = iter(range(1, 10 * self.n))
        tasks = [asyncio.create_task(intake_relay.run()), asyncio.create_task(screening_relay.run()),
                 asyncio.create_task(self.consume(consumers[0], lambda a, e: self.screen(a, e, screening_relay,
                                                                                         next(seq)))),
                 asyncio.create_task(self.consume(consumers[1], self.record))]
        try:
            while not all(c.assignment() for c in consumers):  # noqa: ASYNC110 - aiokafka has no such event
                await asyncio.sleep(0.05)
            cpu_before = resource.getrusage(resource.RUSAGE_SELF)
            counted = await database_operations(self.uris)
            began = time.monotonic()
            queue = list(reversed(ids))

            async def submitter() -> None:
                while queue:
                    await self.submit(queue.pop(), intake_relay, next(seq))

            await asyncio.gather(*(submitter() for _ in range(self.clients)))
            await asyncio.wait_for(self.finished.wait(), 600)
            wall = time.monotonic() - began
            cpu = resource.getrusage(resource.RUSAGE_SELF)
            ops = per_application(counted, await database_operations(self.uris), self.n)
        finally:
            intake_relay.stopping = screening_relay.stopping = True
            self.finished.set()
            for task in tasks[:2]:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for consumer in consumers:
                await consumer.stop()
            await producer.stop()
            await self.intake_client.close()  # the databases stay: dropping them takes SecantusDB long
            await self.screening_client.close()
        busy = (cpu.ru_utime + cpu.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
        return {"n": self.n, "clients": self.clients, "wall_s": round(wall, 2),
                "applications_per_s": round(self.n / wall, 2), "process_cpu_share": round(busy / wall, 2),
                "database_operations_per_application": ops}


async def measure(bootstrap: str, uris: Uris, round_id: str, n: int, clients: int = 8) -> dict[str, Any]:
    """The bare loop's sustained applications/s, with documents copied from ``round_id``'s."""
    return await BareLoop(bootstrap, uris, await templates(uris, round_id), n, clients).run()
