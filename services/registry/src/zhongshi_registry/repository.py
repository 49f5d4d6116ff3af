"""The registry's storage: its port (`RegistryPort`, domain-named methods) and the adapter behind it, one
`Store` per record type in MongoDB or in memory; both pass the same contract test."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Protocol

from pydantic import BaseModel
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from zhongshi_runtime.outbox import Session
from zhongshi_runtime.store import MemoryStore, MongoStore, Store

from zhongshi_registry.cache import ReadCache
from zhongshi_registry.domain import (
    DecisionRecord,
    Objection,
    ObjectionStatus,
    Profile,
    Publicity,
    certificate_sequence,
)
from zhongshi_registry.entries import AnnualReport, Entry, Status
from zhongshi_registry.projection import CountedStore, MemoryTallies, MongoTallies, Tallies
from zhongshi_registry.public import Filters
from zhongshi_registry.statistics import of_candidacy, of_entry, recount
from zhongshi_registry.workdays import HolidaySchedule


class Candidacy(BaseModel):
    """An application screened as a candidate (or not), for the pipeline-by-city statistics; a withdrawn one is
    no city's candidate, whichever of its screening and its withdrawal arrived first."""

    round_id: str
    city_code: str
    candidate: bool
    withdrawn: bool = False

    @property
    def counted(self) -> bool:
        return self.candidate and not self.withdrawn


class RegistryPort(Protocol):
    """The registry's records in its own words, as the use cases and handlers see them; `Store` stays beneath."""

    cache: ReadCache

    async def candidacy(self, application_id: str, session: Session = None) -> Candidacy | None: ...
    async def withdrawn_among(self, application_ids: Iterable[str]) -> set[str]: ...
    async def fold_candidacy(self, application_id: str, fold: Callable[[Candidacy | None], Candidacy],
                             session: Session = None) -> None: ...
    async def keep_profile(self, profile: Profile, session: Session = None) -> None: ...
    async def record_decision(self, decision: DecisionRecord, session: Session = None) -> None: ...
    async def decisions_of_round(self, round_id: str) -> list[DecisionRecord]: ...
    async def decision_of(self, application_id: str, session: Session = None) -> DecisionRecord | None: ...
    async def profiles_of_round(self, round_id: str) -> dict[str, Profile]: ...
    async def profile_of(self, application_id: str, session: Session = None) -> Profile | None: ...
    async def publicity_of(self, round_id: str, session: Session = None) -> Publicity | None: ...
    async def open_publicity(self, publicity: Publicity, session: Session) -> bool: ...
    async def save_publicity(self, publicity: Publicity, session: Session = None) -> None: ...
    async def holiday_schedules(self) -> list[HolidaySchedule]: ...
    async def holiday_schedule(self, year: int) -> HolidaySchedule | None: ...
    async def enter_holiday_schedule(self, schedule: HolidaySchedule, session: Session) -> None: ...
    async def objections_of_round(self, round_id: str) -> list[Objection]: ...
    async def pending_objections_by(self, round_id: str, objector: str) -> list[Objection]: ...
    async def objection(self, objection_id: str, session: Session = None) -> Objection | None: ...
    async def save_objection(self, objection: Objection, session: Session = None) -> None: ...
    async def entry(self, platform_id: str, session: Session = None) -> Entry | None: ...
    async def save_entry(self, entry: Entry, session: Session = None) -> None: ...
    async def all_entries(self) -> list[Entry]: ...
    async def entry_by_certificate(self, certificate_no: str) -> Entry | None: ...
    async def latest_cultivation_of(self, credit_code: str) -> Entry | None: ...
    async def claim_certificate_numbers(self, year: int, count: int, session: Session = None) -> range: ...
    async def platforms_page(self, filters: Filters, offset: int, limit: int) -> tuple[int, list[Entry]]: ...
    def each_entry(self) -> AsyncIterator[Entry]: ...
    async def statistics(self) -> dict[str, int]: ...
    async def file_report(self, report: AnnualReport, session: Session = None) -> None: ...
    async def reports_of(self, platform_id: str) -> list[AnnualReport]: ...
    async def reports_in(self, year: int) -> list[AnnualReport]: ...


class Sequences(Protocol):
    async def claim(self, name: str, count: int, session: Session = None) -> int:
        """Reserve the next ``count`` numbers of the named sequence (in the caller's transaction); the first."""
        ...


EACH_BATCH = 100  # entries a read of every entry decodes at a time: a few milliseconds of the event loop


class Listing(Protocol):
    async def page(self, filters: Filters, offset: int, limit: int) -> tuple[int, list[Entry]]:
        """Entries matching the public filters, by id: the total and one page."""
        ...

    def each(self) -> AsyncIterator[Entry]:
        """Every entry, read a batch at a time (the caller's other tasks run between batches)."""
        ...


class MongoSequences:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.collection = db.sequences

    async def claim(self, name: str, count: int, session: Session = None) -> int:
        doc = await self.collection.find_one_and_update({"_id": name}, {"$inc": {"last": count}}, upsert=True,
                                                        return_document=ReturnDocument.AFTER, session=session)
        assert doc is not None  # upsert with the document after the update
        return int(doc["last"]) - count + 1


class MemorySequences:
    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    async def claim(self, name: str, count: int, session: Session = None) -> int:
        self.last[name] = self.last.get(name, 0) + count
        return self.last[name] - count + 1


class MongoListing:
    def __init__(self, entries: MongoStore[Entry]) -> None:
        self.entries = entries

    async def page(self, filters: Filters, offset: int, limit: int) -> tuple[int, list[Entry]]:
        query = filters.mongo_query()
        total = await self.entries.collection.count_documents(query)
        cursor = self.entries.collection.find(query).sort("_id", ASCENDING).skip(offset).limit(limit)
        return total, [self.entries.item(d) async for d in cursor]

    async def each(self) -> AsyncIterator[Entry]:
        async for doc in self.entries.collection.find({}, batch_size=EACH_BATCH):
            yield self.entries.item(doc)


class MemoryListing:
    def __init__(self, entries: Store[Entry]) -> None:
        self.entries = entries

    async def page(self, filters: Filters, offset: int, limit: int) -> tuple[int, list[Entry]]:
        found = [e for e in await self.entries.find() if filters.matches(e)]
        return len(found), found[offset:offset + limit]

    async def each(self) -> AsyncIterator[Entry]:
        for entry in await self.entries.find():
            yield entry


def _candidacy_counts(candidacy: Candidacy) -> Counter[str]:
    return of_candidacy(candidacy.city_code, candidacy.counted)


class RegistryRepository:
    """The port over one `Store` per record type: `mongo` the database adapter, `memory` the fake replay fills."""

    sequences: Sequences
    listing: Listing

    def __init__(self, make: Any, tallies: Tallies) -> None:
        self.collections: dict[str, Store[Any]] = {}
        self.cache, self.tallies = ReadCache(), tallies

        def store(name: str, model: type[BaseModel]) -> Any:
            self.collections[name] = made = make(name, model)
            return made

        self.pipeline: Store[Candidacy] = CountedStore(store("pipeline", Candidacy), tallies, _candidacy_counts,
                                                       self.cache.invalidate)
        self.profiles: Store[Profile] = store("profiles", Profile)
        self.decisions: Store[DecisionRecord] = store("decisions", DecisionRecord)
        self.publicity: Store[Publicity] = store("publicity", Publicity)
        self.objections: Store[Objection] = store("objections", Objection)
        self.entries: Store[Entry] = CountedStore(store("entries", Entry), tallies, of_entry, self.cache.invalidate)
        self.reports: Store[AnnualReport] = store("annual_reports", AnnualReport)
        # by year; entered by the province, not projected from events: a replay neither rebuilds nor compares it
        self.holidays: Store[HolidaySchedule] = make("holiday_schedules", HolidaySchedule)

    async def candidacy(self, application_id: str, session: Session = None) -> Candidacy | None:
        return await self.pipeline.get(application_id, session)

    async def withdrawn_among(self, application_ids: Iterable[str]) -> set[str]:
        """Those of ``application_ids`` their applicants withdrew (as far as this registry has heard)."""
        return {i for i, c in (await self.pipeline.many(application_ids)).items() if c.withdrawn}

    async def fold_candidacy(self, application_id: str, fold: Callable[[Candidacy | None], Candidacy],
                             session: Session = None) -> None:
        """Record what ``fold`` makes of the application's candidacy as recorded so far (None: none yet)."""
        await self.pipeline.put(application_id, fold(await self.pipeline.get(application_id, session)), session)

    async def keep_profile(self, profile: Profile, session: Session = None) -> None:
        await self.profiles.put(profile.application_id, profile, session)

    async def record_decision(self, decision: DecisionRecord, session: Session = None) -> None:
        await self.decisions.put(decision.application_id, decision, session)

    async def publicity_of(self, round_id: str, session: Session = None) -> Publicity | None:
        return await self.publicity.get(round_id, session)

    async def open_publicity(self, publicity: Publicity, session: Session) -> bool:
        """Store a round's new publicity; False when the round has one already."""
        return await self.publicity.add(publicity.round_id, publicity, session)

    async def save_publicity(self, publicity: Publicity, session: Session = None) -> None:
        await self.publicity.put(publicity.round_id, publicity, session)

    async def decisions_of_round(self, round_id: str) -> list[DecisionRecord]:
        return await self.decisions.find(round_id=round_id)

    async def decision_of(self, application_id: str, session: Session = None) -> DecisionRecord | None:
        return await self.decisions.get(application_id, session)

    async def profiles_of_round(self, round_id: str) -> dict[str, Profile]:
        return {p.application_id: p for p in await self.profiles.find(round_id=round_id)}

    async def profile_of(self, application_id: str, session: Session = None) -> Profile | None:
        return await self.profiles.get(application_id, session)

    async def holiday_schedules(self) -> list[HolidaySchedule]:
        return await self.holidays.find()

    async def holiday_schedule(self, year: int) -> HolidaySchedule | None:
        return await self.holidays.get(str(year))

    async def enter_holiday_schedule(self, schedule: HolidaySchedule, session: Session) -> None:
        await self.holidays.put(str(schedule.year), schedule, session)

    async def objections_of_round(self, round_id: str) -> list[Objection]:
        return await self.objections.find(round_id=round_id)

    async def pending_objections_by(self, round_id: str, objector: str) -> list[Objection]:
        return await self.objections.find(round_id=round_id, objector=objector, status=ObjectionStatus.PENDING)

    async def objection(self, objection_id: str, session: Session = None) -> Objection | None:
        return await self.objections.get(objection_id, session)

    async def save_objection(self, objection: Objection, session: Session = None) -> None:
        await self.objections.put(objection.id, objection, session)

    async def entry(self, platform_id: str, session: Session = None) -> Entry | None:
        return await self.entries.get(platform_id, session)

    async def save_entry(self, entry: Entry, session: Session = None) -> None:
        await self.entries.put(entry.id, entry, session)

    async def all_entries(self) -> list[Entry]:
        return await self.entries.find()

    async def entry_by_certificate(self, certificate_no: str) -> Entry | None:
        found = await self.entries.find(certificate_no=certificate_no)
        return found[0] if found else None

    async def latest_cultivation_of(self, credit_code: str) -> Entry | None:
        """The applicant's most recently listed cultivation object, which an accreditation upgrades."""
        cultivated = [e for e in await self.entries.find(applicant_credit_code=credit_code)
                      if e.status is Status.CULTIVATION]
        return max(cultivated, key=lambda e: e.listed_on, default=None)

    async def claim_certificate_numbers(self, year: int, count: int, session: Session = None) -> range:
        first = await self.sequences.claim(certificate_sequence(year), count, session)
        return range(first, first + count)

    async def platforms_page(self, filters: Filters, offset: int, limit: int) -> tuple[int, list[Entry]]:
        return await self.listing.page(filters, offset, limit)

    def each_entry(self) -> AsyncIterator[Entry]:
        return self.listing.each()

    async def statistics(self) -> dict[str, int]:
        return await self.tallies.counts()

    async def file_report(self, report: AnnualReport, session: Session = None) -> None:
        await self.reports.put(f"{report.platform_id}/{report.year}", report, session)

    async def reports_of(self, platform_id: str) -> list[AnnualReport]:
        return await self.reports.find(platform_id=platform_id)

    async def reports_in(self, year: int) -> list[AnnualReport]:
        return await self.reports.find(year=year)

    @classmethod
    def mongo(cls, db: AsyncDatabase[Any]) -> RegistryRepository:
        repo = cls(lambda name, model: MongoStore(db, name, model), MongoTallies(db))
        repo.sequences, repo.listing = MongoSequences(db), MongoListing(MongoStore(db, "entries", Entry))
        return repo

    @classmethod
    def memory(cls, store: Callable[[], MemoryStore[Any]] = MemoryStore) -> RegistryRepository:
        """In memory; ``store`` makes each collection's store (a replay's notes what changed)."""
        repo = cls(lambda name, model: store(), MemoryTallies())
        repo.sequences, repo.listing = MemorySequences(), MemoryListing(repo.entries)
        return repo


async def ensure_statistics(repo: RegistryRepository) -> None:
    """Count a registry stored before the statistics projection existed (once: later writes keep it)."""
    if await repo.tallies.exists():
        return
    counts = recount(await repo.entries.find(), [(c.city_code, c.counted) for c in await repo.pipeline.find()])
    if counts:
        await repo.tallies.add(counts)


async def ensure_indexes(db: AsyncDatabase[Any]) -> None:
    await db.decisions.create_index([("round_id", ASCENDING)])
    await db.objections.create_index([("round_id", ASCENDING)])
    await db.entries.create_index([("applicant_credit_code", ASCENDING)])
    if not (await db.entries.index_information()).get("certificate_no_1", {"unique": True}).get("unique"):
        await db.entries.drop_index("certificate_no_1")  # not unique before 8dc1010: rebuilt as unique
    await db.entries.create_index([("certificate_no", ASCENDING)], unique=True,  # a number is never issued twice
                                  partialFilterExpression={"certificate_no": {"$type": "string"}})
    for field in ("city_code", "region_code", "status", "clusters", "platform_type", "service_kinds"):
        await db.entries.create_index([(field, ASCENDING)])  # the public list's filters
    await db.annual_reports.create_index([("year", ASCENDING)])
