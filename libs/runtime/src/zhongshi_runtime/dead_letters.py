"""The dead-letter ledger: every message a consumer group dead-letters or parks, until it is redriven.

Besides ``<topic>.dlq`` (the broker's copy), the consumer records each dead letter in its service's database
(`dead_letters`) with its body and headers, so an operator can list, show and redrive it. A dead letter with
a subject (the application) also writes a *parking record* (`dlq_parking`, one per subject): the consumer
consults it before handling, and parks every later event of that subject (kept in the ledger, status
``parked``) instead of applying it out of order. Redriving the head republishes it through the outbox with
its original CloudEvent id; once it is handled, the consumer republishes the next parked event, one at a
time in the order they arrived, and drops the parking record after the last. See docs/threats-delivery.md.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

Session = Any
REDRIVE_HEADER = "zhongshi_redrive"  # names the ledger entry a republished message redrives
DLQ_HEADERS = ("dlq_kind", "dlq_reason", "dlq_source_topic", "dlq_source_partition", "dlq_source_offset",
               "dlq_consumer_group", "dlq_failed_at", REDRIVE_HEADER)


class Status(StrEnum):
    DEAD = "dead"  # dead-lettered, waiting for an operator
    PARKED = "parked"  # a later event of a subject whose earlier one is dead: released after it, in order
    REDRIVEN = "redriven"  # republished to its source topic


class Failure(BaseModel):
    """Where a failed message came from and why it failed: what the consumer knows and the ledger keeps."""

    model_config = ConfigDict(frozen=True)

    group: str
    topic: str
    partition: int
    offset: int
    kind: str
    reason: str


class Letter(Failure):
    """One message as the consumer failed it: where from, why, and the message itself."""

    key: str | None
    headers: Mapping[str, str]
    body: bytes

    @property
    def id(self) -> str:
        """Where the message was read, and the start of its event id: an embedded broker started again numbers
        offsets from 0, so the place alone could name an entry kept before (and a new message found "kept
        already" would be acked unhandled). A redriven copy keeps its entry's id."""
        redriven = self.headers.get(REDRIVE_HEADER, "")
        event = re.sub(r"[^0-9A-Za-z_-]", "", self.headers.get("ce_id", ""))[:8]
        return redriven or f"{self.topic}:{self.partition}:{self.offset}" + (f":{event}" if event else "")

    @property
    def subject(self) -> str:
        return self.headers.get("ce_subject", "")


def original_headers(headers: Mapping[str, str], entry_id: str) -> dict[str, str]:
    """The message's own headers (CloudEvent id and all) without the DLQ's, naming the entry it redrives."""
    return {**{k: v for k, v in headers.items() if k not in DLQ_HEADERS}, REDRIVE_HEADER: entry_id}


class DeadLetter(Failure):
    """One ledger entry as the API lists it: the stored document without the message."""

    id: str = Field(validation_alias=AliasChoices("_id", "id"))
    status: str
    subject: str
    event_id: str
    event_type: str
    failed_at: datetime
    redriven_at: datetime | None = None


class StoredDeadLetter(DeadLetter):
    """The entry with what only the ledger keeps: the message itself and its place in the order."""

    key: str | None
    headers: dict[str, str]
    body: bytes
    seq: int

    def document(self) -> dict[str, Any]:
        doc = self.model_dump(exclude={"id", "redriven_at"})
        return {"_id": self.id, **doc}


class DeadLetterLedger:
    """The ledger and the parking records in one service's database."""

    def __init__(self, client: AsyncMongoClient[Any], db: AsyncDatabase[Any], group: str) -> None:
        self.client, self.db, self.group = client, db, group

    async def ensure_indexes(self) -> None:
        await self.db.dead_letters.create_index([("status", ASCENDING), ("topic", ASCENDING)])
        await self.db.dead_letters.create_index([("subject", ASCENDING), ("status", ASCENDING), ("seq", ASCENDING)])

    async def must_wait(self, headers: Mapping[str, str]) -> str | None:
        """The entry this message must wait for (its subject's parked head), or None to handle it now."""
        subject = headers.get("ce_subject", "")
        if not subject:
            return None
        parking = await self.db.dlq_parking.find_one({"_id": subject})
        if parking is None:
            return None
        redrives = headers.get(REDRIVE_HEADER, "")
        if redrives == parking["head"]:
            return None  # the head itself, redriven (or its copy): handle it, it fails again or releases the rest
        if redrives and await self.db.dead_letters.count_documents({"_id": redrives, "status": Status.REDRIVEN}):
            return None  # a copy of an entry released earlier: applied already, the idempotent consumer absorbs it
        return str(parking["head"])

    async def parks_any(self, subjects: Iterable[str]) -> bool:
        """Whether any of these subjects is parked: one read for a batch of messages, which `must_wait` then
        needs only when it is."""
        wanted = sorted({s for s in subjects if s})
        return bool(wanted) and bool(await self.db.dlq_parking.count_documents({"_id": {"$in": wanted}}, limit=1))

    async def holds(self, entry_id: str) -> bool:
        """Whether the ledger keeps this entry already (a batch read again after a nack offers it twice)."""
        return bool(await self.db.dead_letters.count_documents({"_id": entry_id}, limit=1))

    async def record(self, letter: Letter) -> None:
        """Keep a dead-lettered message; one with a subject parks that subject behind it, unless the subject is
        parked already: the head stays the event a redrive releases the rest after (a later event that could
        not even be read is dead-lettered before the parking is consulted, and must not take its place)."""
        existing = await self.db.dead_letters.find_one({"_id": letter.id}, {"seq": 1})
        seq = existing["seq"] if existing else time.time_ns()  # a redriven entry failing again keeps its place
        await self.db.dead_letters.replace_one({"_id": letter.id}, _entry(letter, Status.DEAD, seq), upsert=True)
        if not letter.subject:
            return
        again = await self.db.dlq_parking.update_one({"_id": letter.subject, "head": letter.id},
                                                     {"$set": {"state": "dead"}})  # the head, failing again
        if not again.matched_count:
            await self.db.dlq_parking.update_one(
                {"_id": letter.subject},
                {"$setOnInsert": {"head": letter.id, "state": "dead", "topic": letter.topic, "since": now()}},
                upsert=True)

    async def park(self, letter: Letter) -> bool:
        """Keep a later event of a parked subject behind its head; False when the subject was released since
        `must_wait` read it (handle the event now, then). One transaction with the parking record, which it
        writes: a release running at once writes it too, so whichever commits second runs again and sees the
        other (else the release could miss this event and drop the record, leaving it parked for good)."""
        async def keep(session: Session) -> bool:
            touched = await self.db.dlq_parking.update_one({"_id": letter.subject}, {"$set": {"parked_at": now()}},
                                                           session=session)
            if not touched.matched_count:
                return False
            await self.db.dead_letters.replace_one({"_id": letter.id}, _entry(letter, Status.PARKED, time.time_ns()),
                                                   upsert=True, session=session)
            return True

        async with self.client.start_session() as session:
            return bool(await session.with_transaction(keep))

    async def redrive(self, entry_id: str, session: Session) -> dict[str, Any] | None:
        """Mark a dead entry redriven and queue it for its source topic (inside the caller's transaction)."""
        entry = await self.db.dead_letters.find_one_and_update(
            {"_id": entry_id, "status": Status.DEAD}, {"$set": {"status": Status.REDRIVEN, "redriven_at": now()}},
            session=session)
        if entry is None:
            return None
        await self._republish(entry, session)
        if entry["subject"]:
            await self.db.dlq_parking.update_one({"_id": entry["subject"], "head": entry_id},
                                                 {"$set": {"state": "redriving"}}, session=session)
        return dict(entry)

    async def handled(self, headers: Mapping[str, str]) -> str | None:
        """After a redriven head was handled: release its subject's next parked event; return its entry id."""
        subject, entry_id = headers.get("ce_subject", ""), headers.get(REDRIVE_HEADER, "")
        if not subject or not entry_id:
            return None
        released: list[str] = []

        async def release(session: Session) -> None:
            parking = await self.db.dlq_parking.find_one({"_id": subject, "head": entry_id}, session=session)
            if parking is None:
                return
            nxt = await self.db.dead_letters.find_one_and_update(
                {"subject": subject, "status": Status.PARKED}, {"$set": {"status": Status.REDRIVEN,
                                                                        "redriven_at": now()}},
                sort=[("seq", ASCENDING)], session=session)
            if nxt is None:
                await self.db.dlq_parking.delete_one({"_id": subject, "head": entry_id}, session=session)
                return
            await self._republish(nxt, session)
            await self.db.dlq_parking.update_one({"_id": subject}, {"$set": {"head": nxt["_id"]}}, session=session)
            released.append(nxt["_id"])

        async with self.client.start_session() as session:
            await session.with_transaction(release)
        return released[0] if released else None

    async def _republish(self, entry: dict[str, Any], session: Session) -> None:
        record = {"_id": f"redrive:{entry['_id']}:{time.time_ns()}", "seq": time.time_ns(), "topic": entry["topic"],
                  "key": entry["key"] or "", "headers": original_headers(entry["headers"], entry["_id"]),
                  "value": bytes(entry["body"]).decode(errors="replace"), "created_at": now(), "published_at": None}
        await self.db.outbox.insert_one(record, session=session)

    async def sizes(self) -> dict[tuple[str, str], int]:
        """Entries not yet redriven, by (topic, status): the DLQ's current size."""
        pipeline: list[dict[str, Any]] = [{"$match": {"status": {"$in": [Status.DEAD, Status.PARKED]}}},
                    {"$group": {"_id": {"topic": "$topic", "status": "$status"}, "n": {"$sum": 1}}}]
        return {(d["_id"]["topic"], d["_id"]["status"]): d["n"]
                async for d in await self.db.dead_letters.aggregate(pipeline)}


def _entry(letter: Letter, status: Status, seq: int) -> dict[str, Any]:
    return StoredDeadLetter(
        **{**letter.model_dump(), "reason": letter.reason[:2000]}, id=letter.id, subject=letter.subject,
        event_id=letter.headers.get("ce_id", ""), event_type=letter.headers.get("ce_type", ""),
        status=status.value, failed_at=now(), seq=seq).document()


def now() -> datetime:
    return datetime.now(UTC)
