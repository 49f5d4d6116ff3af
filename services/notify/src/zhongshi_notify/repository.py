"""Notify's state port — cases, contacts, round schedules, the officials' directory, preferences, the
inbox, and the expert panels, publicity windows and outcomes its other deadlines come from — with its
MongoDB adapter and the in-memory fake (one contract test covers both)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from zhongshi_runtime import turns
from zhongshi_runtime.outbox import Session, transaction_memo
from zhongshi_runtime.queries import find_by_ids
from zhongshi_runtime.store import MemoryStore, MongoStore, Store, insert_missing

from zhongshi_notify.domain import QUEUE_STAGES, Case, RoundSchedule, legacy_reader
from zhongshi_notify.planning import ApplicantContact, Contact, InboxMessage, Preferences
from zhongshi_notify.tracking import ExpertPanel, Platform, PublicityWindow


class NotifyRepository(Protocol):
    panels: Store[ExpertPanel]  # by application id; ``open=True``: still waiting for scores
    publicity: Store[PublicityWindow]  # by round id; ``open=True``: not closed
    platforms: Store[Platform]  # by application id; ``active=True``: accredited, not revoked

    async def take_turn(self, application_id: str, session: Session) -> None:
        """The application's turn (`zhongshi_runtime.turns`): two events of one application are planned one
        after the other, each on what the other committed."""
        ...
    async def case(self, application_id: str, session: Session = None) -> Case | None: ...
    async def save_case(self, case: Case, session: Session = None) -> None: ...
    async def open_cases(self) -> list[Case]:
        """Cases waiting in an official's queue (county, city or province review)."""
        ...
    async def contact(self, application_id: str, session: Session = None) -> ApplicantContact | None: ...
    async def save_contact(self, contact: ApplicantContact, session: Session = None) -> None: ...
    async def schedule(self, round_id: str, session: Session = None) -> RoundSchedule | None: ...
    async def save_schedule(self, schedule: RoundSchedule, session: Session = None) -> None: ...
    async def schedules(self) -> list[RoundSchedule]: ...
    async def directory_entry(self, scope: str, session: Session = None) -> Contact | None: ...
    async def set_directory_entry(self, scope: str, contact: Contact, session: Session = None) -> None: ...
    async def preferences(self, recipient: str, session: Session = None) -> Preferences: ...
    async def reach(self, applications: Iterable[str], officials: Iterable[str], recipients: Iterable[str],
                    session: Session = None) -> Reach:
        """Everything an event's notices need to address them, in one read per collection (none when empty)."""
        ...
    async def set_preferences(self, recipient: str, preferences: Preferences, session: Session = None) -> None: ...
    async def add_inbox(self, messages: Iterable[InboxMessage], session: Session = None) -> None:
        """Store each message unless one with its id exists (a replay writes nothing twice)."""
        ...
    async def inbox(self, recipient: str, *, offset: int = 0, limit: int = 50) -> tuple[int, list[InboxMessage]]:
        """The unread count and one page of messages, newest first."""
        ...
    async def mark_read(self, message_id: str, recipient: str, session: Session = None) -> bool: ...


@dataclass(frozen=True)
class Reach:
    """The applicant contacts, directory entries and preferences of an event's notices, read in bulk."""

    contacts: dict[str, ApplicantContact] = field(default_factory=dict)  # by application id
    directory: dict[str, Contact] = field(default_factory=dict)  # by official scope
    preferences: dict[str, Preferences] = field(default_factory=dict)  # by recipient; missing: the defaults

    def preferences_of(self, recipient: str) -> Preferences:
        return self.preferences.get(recipient) or Preferences()


def _newest_first(m: InboxMessage) -> tuple[float, str]:
    return (-m.created_at.timestamp(), m.id)


READERS_MIGRATION = "inbox-readers-v1"


class MongoNotifyRepository:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.db = db
        self.panels: Store[ExpertPanel] = MongoStore(db, "expert_panels", ExpertPanel)
        self.publicity: Store[PublicityWindow] = MongoStore(db, "publicity", PublicityWindow)
        self.platforms: Store[Platform] = MongoStore(db, "platforms", Platform)

    async def ensure_indexes(self) -> None:
        await self.db.inbox.create_index([("recipient", ASCENDING), ("created_at", DESCENDING)])
        await self.db.inbox.create_index([("application_id", ASCENDING)])
        await self.db.cases.create_index([("stage", ASCENDING)])
        await self.db.expert_panels.create_index([("open", ASCENDING)])
        await self.db.platforms.create_index([("active", ASCENDING)])

    async def migrate_readers(self) -> None:
        """Inboxes and preferences stored by bare code get their reader ("official:420100"), once."""
        if await self.db.migrations.find_one({"_id": READERS_MIGRATION}):
            return
        legacy = {d["recipient"] async for d in self.db.inbox.find({}, {"recipient": 1}) if ":" not in d["recipient"]}
        for code in sorted(legacy):
            await self.db.inbox.update_many({"recipient": code}, {"$set": {"recipient": legacy_reader(code)}})
        async for doc in self.db.preferences.find({}):
            if ":" not in doc["_id"]:
                await self.db.preferences.replace_one({"_id": legacy_reader(doc["_id"])},
                                                      {**doc, "_id": legacy_reader(doc["_id"])}, upsert=True)
                await self.db.preferences.delete_one({"_id": doc["_id"]})
        await self.db.migrations.replace_one({"_id": READERS_MIGRATION}, {"_id": READERS_MIGRATION}, upsert=True)

    async def take_turn(self, application_id: str, session: Session) -> None:
        await turns.take_turn(self.db, application_id, session)

    async def case(self, application_id: str, session: Session = None) -> Case | None:
        doc = await self.db.cases.find_one({"_id": application_id}, session=session)
        return Case.model_validate(doc) if doc else None

    async def save_case(self, case: Case, session: Session = None) -> None:
        await self.db.cases.replace_one({"_id": case.application_id}, case.model_dump(mode="json"), upsert=True,
                                        session=session)

    async def open_cases(self) -> list[Case]:
        query = {"stage": {"$in": [s.value for s in QUEUE_STAGES]}}
        return [Case.model_validate(d) async for d in self.db.cases.find(query).sort("_id")]

    async def contact(self, application_id: str, session: Session = None) -> ApplicantContact | None:
        doc = await self.db.contacts.find_one({"_id": application_id}, session=session)
        return ApplicantContact.model_validate(doc) if doc else None

    async def save_contact(self, contact: ApplicantContact, session: Session = None) -> None:
        doc = {**contact.model_dump(), "stored_at": datetime.now(UTC)}  # retention runs from the latest write
        await self.db.contacts.replace_one({"_id": contact.application_id}, doc, upsert=True, session=session)

    async def schedule(self, round_id: str, session: Session = None) -> RoundSchedule | None:
        """Read once per transaction, however many of the round's events it plans."""
        memo = transaction_memo()
        if ("schedule", round_id) not in memo:
            doc = await self.db.schedules.find_one({"_id": round_id}, session=session)
            memo["schedule", round_id] = RoundSchedule.model_validate(doc) if doc else None
        found: RoundSchedule | None = memo["schedule", round_id]
        return found

    async def save_schedule(self, schedule: RoundSchedule, session: Session = None) -> None:
        doc = {**schedule.model_dump(mode="json"), "scheduled_at": schedule.scheduled_at}
        await self.db.schedules.replace_one({"_id": schedule.round_id}, doc, upsert=True, session=session)
        transaction_memo()["schedule", schedule.round_id] = schedule

    async def schedules(self) -> list[RoundSchedule]:
        return [RoundSchedule.model_validate(d) async for d in self.db.schedules.find().sort("_id")]

    async def directory_entry(self, scope: str, session: Session = None) -> Contact | None:
        doc = await self.db.directory.find_one({"_id": scope}, session=session)
        return Contact.model_validate(doc) if doc else None

    async def set_directory_entry(self, scope: str, contact: Contact, session: Session = None) -> None:
        await self.db.directory.replace_one({"_id": scope}, contact.model_dump(), upsert=True, session=session)

    async def preferences(self, recipient: str, session: Session = None) -> Preferences:
        doc = await self.db.preferences.find_one({"_id": recipient}, session=session)
        return Preferences.model_validate(doc) if doc else Preferences()

    async def reach(self, applications: Iterable[str], officials: Iterable[str], recipients: Iterable[str],
                    session: Session = None) -> Reach:
        async def by_id(collection: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
            wanted = sorted(set(keys))
            if not wanted:
                return {}
            return {d["_id"]: d async for d in find_by_ids(self.db[collection], wanted, session=session)}

        contacts, directory = await by_id("contacts", applications), await by_id("directory", officials)
        preferences = await by_id("preferences", recipients)
        return Reach(contacts={k: ApplicantContact.model_validate(d) for k, d in contacts.items()},
                     directory={k: Contact.model_validate(d) for k, d in directory.items()},
                     preferences={k: Preferences.model_validate(d) for k, d in preferences.items()})

    async def set_preferences(self, recipient: str, preferences: Preferences, session: Session = None) -> None:
        await self.db.preferences.replace_one({"_id": recipient}, preferences.model_dump(), upsert=True,
                                              session=session)

    async def add_inbox(self, messages: Iterable[InboxMessage], session: Session = None) -> None:
        await insert_missing(self.db.inbox, messages, session)

    async def inbox(self, recipient: str, *, offset: int = 0, limit: int = 50) -> tuple[int, list[InboxMessage]]:
        mine = {"recipient": recipient}
        cursor = self.db.inbox.find(mine).sort([("created_at", DESCENDING), ("_id", ASCENDING)]).skip(offset)
        items = [InboxMessage.model_validate({**d, "id": d["_id"]}) async for d in cursor.limit(limit)]
        return await self.db.inbox.count_documents({**mine, "read": False}), items

    async def mark_read(self, message_id: str, recipient: str, session: Session = None) -> bool:
        result = await self.db.inbox.update_one({"_id": message_id, "recipient": recipient},
                                                {"$set": {"read": True}}, session=session)
        return result.matched_count == 1


class InMemoryNotifyRepository:
    """The fake for fast tests; behaves as the Mongo adapter does (see the contract test)."""

    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.contacts: dict[str, ApplicantContact] = {}
        self._schedules: dict[str, RoundSchedule] = {}
        self._directory: dict[str, Contact] = {}
        self._preferences: dict[str, Preferences] = {}
        self.messages: dict[str, InboxMessage] = {}
        self.panels: Store[ExpertPanel] = MemoryStore()
        self.publicity: Store[PublicityWindow] = MemoryStore()
        self.platforms: Store[Platform] = MemoryStore()
        self.reads = 0  # bulk reads of `reach` (tests count them)

    async def take_turn(self, application_id: str, session: Session) -> None:
        return None  # one event at a time in memory

    async def case(self, application_id: str, session: Session = None) -> Case | None:
        return self.cases.get(application_id)

    async def save_case(self, case: Case, session: Session = None) -> None:
        self.cases[case.application_id] = case

    async def open_cases(self) -> list[Case]:
        return [self.cases[k] for k in sorted(self.cases) if self.cases[k].stage in QUEUE_STAGES]

    async def contact(self, application_id: str, session: Session = None) -> ApplicantContact | None:
        return self.contacts.get(application_id)

    async def save_contact(self, contact: ApplicantContact, session: Session = None) -> None:
        self.contacts[contact.application_id] = contact

    async def schedule(self, round_id: str, session: Session = None) -> RoundSchedule | None:
        return self._schedules.get(round_id)

    async def save_schedule(self, schedule: RoundSchedule, session: Session = None) -> None:
        self._schedules[schedule.round_id] = schedule

    async def schedules(self) -> list[RoundSchedule]:
        return [self._schedules[k] for k in sorted(self._schedules)]

    async def directory_entry(self, scope: str, session: Session = None) -> Contact | None:
        return self._directory.get(scope)

    async def set_directory_entry(self, scope: str, contact: Contact, session: Session = None) -> None:
        self._directory[scope] = contact

    async def preferences(self, recipient: str, session: Session = None) -> Preferences:
        return self._preferences.get(recipient, Preferences())

    async def set_preferences(self, recipient: str, preferences: Preferences, session: Session = None) -> None:
        self._preferences[recipient] = preferences

    async def reach(self, applications: Iterable[str], officials: Iterable[str], recipients: Iterable[str],
                    session: Session = None) -> Reach:
        self.reads += 1
        return Reach(contacts={k: self.contacts[k] for k in applications if k in self.contacts},
                     directory={k: self._directory[k] for k in officials if k in self._directory},
                     preferences={k: self._preferences[k] for k in recipients if k in self._preferences})

    async def add_inbox(self, messages: Iterable[InboxMessage], session: Session = None) -> None:
        for m in messages:
            self.messages.setdefault(m.id, m)

    async def inbox(self, recipient: str, *, offset: int = 0, limit: int = 50) -> tuple[int, list[InboxMessage]]:
        mine = sorted((m for m in self.messages.values() if m.recipient == recipient), key=_newest_first)
        return sum(not m.read for m in mine), mine[offset : offset + limit]

    async def mark_read(self, message_id: str, recipient: str, session: Session = None) -> bool:
        message = self.messages.get(message_id)
        if message is None or message.recipient != recipient:
            return False
        self.messages[message_id] = message.model_copy(update={"read": True})
        return True
