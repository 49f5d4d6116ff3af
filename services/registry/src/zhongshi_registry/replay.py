"""Rebuilding the registry from events alone. Its inputs (screened, withdrawn, forwarded, decided) and its own events
(publicity, objections, entries and their lifecycle) are applied in the order they happened, through the
same rules the live service uses, so the result equals the live state. What no event carries — an
objector's name, grounds and evidence, kept private — is left blank and left out of the comparison."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any

from pymongo import AsyncMongoClient, ReplaceOne
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationWithdrawn, Event
from zhongshi_contracts.registry import (
    AnnualReportFiled,
    NationalOutcome,
    NationalRecommended,
    ObjectionResolved,
    PlatformAccredited,
    PlatformCultivationListed,
    PlatformListed,
    PlatformRevoked,
    PlatformStandingConfirmed,
    PlatformWarned,
    PublicityClosed,
    PublicityObjectionFiled,
    PublicityOpened,
)
from zhongshi_contracts.review import ReviewDecided
from zhongshi_runtime.outbox import Session
from zhongshi_runtime.rebuild import Report
from zhongshi_runtime.replay import Log, read_records
from zhongshi_runtime.store import MemoryStore

from zhongshi_registry import entries as lifecycle
from zhongshi_registry.domain import Objection, ObjectionStatus, Publicity, Refused
from zhongshi_registry.entries import AnnualReport, Entry, HistoryItem, Standing, Status
from zhongshi_registry.facts import ForwardedFacts, ScreenedFacts
from zhongshi_registry.handlers import candidacy_of, decision_of, profile_of, withdrawal_of
from zhongshi_registry.projection import DOCUMENT
from zhongshi_registry.repository import MemorySequences, RegistryRepository, ensure_indexes

PRIVATE_OBJECTION_FIELDS = frozenset({"name", "contact", "grounds", "evidence", "objector"})


class Projector:
    """Applies one event at a time to a (fresh) repository; counts what it applied and what it could not."""

    def __init__(self, repo: RegistryRepository) -> None:
        self.repo = repo
        self.applied: Counter[str] = Counter()
        self.refused: list[str] = []
        self._apply: dict[type[Event], Callable[[Any], Awaitable[None]]] = {
            ScreenedFacts: self._screened, ApplicationWithdrawn: self._withdrawn, ForwardedFacts: self._forwarded,
            ReviewDecided: self._decided, PublicityOpened: self._opened, PublicityObjectionFiled: self._objected,
            ObjectionResolved: self._resolved, PublicityClosed: self._closed,
            PlatformAccredited: self._listed, PlatformCultivationListed: self._listed,
            AnnualReportFiled: self._reported, PlatformStandingConfirmed: self._confirmed,
            PlatformWarned: self._warned, PlatformRevoked: self._revoked, NationalRecommended: self._national,
        }

    @property
    def models(self) -> list[type[Event]]:
        return list(self._apply)

    async def apply(self, event: Event) -> None:
        try:
            await self._apply[type(event)](event)
        except Refused as exc:  # an event the rules refuse now: report it, never guess
            self.refused.append(f"{event.topic.name} {event.application_id}: {exc}")
            return
        self.applied[event.topic.name] += 1

    async def _screened(self, e: ScreenedFacts) -> None:
        await self.repo.fold_candidacy(e.application_id, partial(candidacy_of, e))

    async def _withdrawn(self, e: ApplicationWithdrawn) -> None:
        await self.repo.fold_candidacy(e.application_id, partial(withdrawal_of, e))

    async def _forwarded(self, e: ForwardedFacts) -> None:
        await self.repo.keep_profile(profile_of(e))

    async def _decided(self, e: ReviewDecided) -> None:
        await self.repo.record_decision(decision_of(e))

    async def _opened(self, e: PublicityOpened) -> None:
        await self.repo.save_publicity(Publicity(
            round_id=e.round_id, working_days=e.working_days, starts_on=e.starts_on, ends_on=e.ends_on,
            opened_at=e.opened_at, items=e.items))

    async def _objected(self, e: PublicityObjectionFiled) -> None:
        await self.repo.save_objection(Objection(
            id=e.objection_id, round_id=e.round_id, application_id=e.objected_application_id or "",
            name="", contact="", grounds="", filed_at=e.filed_at))

    async def _resolved(self, e: ObjectionResolved) -> None:
        found = await self.repo.objection(e.objection_id)
        if found is None:
            raise Refused(f"异议 {e.objection_id} 的提出事件缺失")
        status = ObjectionStatus.UPHELD if e.upheld else ObjectionStatus.DISMISSED
        await self.repo.save_objection(found.model_copy(update={
            "status": status, "reason": e.reason, "resolved_at": e.resolved_at, "contact": e.reply_to}))

    async def _closed(self, e: PublicityClosed) -> None:
        publicity = await self.repo.publicity_of(e.round_id)
        if publicity is None:
            raise Refused(f"批次 {e.round_id} 的公示开始事件缺失")
        await self.repo.save_publicity(publicity.model_copy(update={"closed_at": e.closed_at}))

    async def _listed(self, e: PlatformListed) -> None:
        accredited = isinstance(e, PlatformAccredited)
        if e.listed_at is None:
            raise Refused(f"{e.platform_id} 的登记事件缺少 listed_at（旧版事件），无法重建历史")
        entry = Entry(
            id=e.platform_id, kind="platform" if accredited else "cultivation",
            status=Status.ACCREDITED if accredited else Status.CULTIVATION,
            **e.model_dump(include={"application_id", "round_id", "platform_name", "applicant_name",
                                    "applicant_credit_code", "region_code", "city_code", "platform_type",
                                    "clusters", "service_kinds", "listed_on", "previous_entry_id"}),
            certificate_no=e.certificate_no if isinstance(e, PlatformAccredited) else None,
            accredited_on=e.accredited_on if isinstance(e, PlatformAccredited) else None,
            history=[HistoryItem(at=e.listed_at, action="accredited" if accredited else "cultivation_listed",
                                 note=e.certificate_no if isinstance(e, PlatformAccredited) else "")])
        await self.repo.save_entry(entry)
        if isinstance(e, PlatformAccredited):
            await self.repo.claim_certificate_numbers(e.accredited_on.year, 1)
            previous = await self.repo.entry(e.previous_entry_id) if e.previous_entry_id else None
            if previous is not None:
                await self.repo.save_entry(previous.noted(
                    e.listed_at, "accredited_later", entry.id, status=Status.UPGRADED, next_entry_id=entry.id))

    async def _reported(self, e: AnnualReportFiled) -> None:
        report = AnnualReport.model_validate(e.model_dump(exclude={"application_id", "round_id"}))
        await self.repo.file_report(report)

    async def _change(self, platform_id: str, step: Callable[[Entry], Entry]) -> None:
        entry = await self.repo.entry(platform_id)
        if entry is None:
            raise Refused(f"登记簿中没有 {platform_id}（登记事件缺失）")
        await self.repo.save_entry(step(entry))

    async def _confirmed(self, e: PlatformStandingConfirmed) -> None:
        await self._change(e.platform_id, lambda entry: lifecycle.evaluate(
            entry, e.year, Standing.GOOD, e.reason, None, e.confirmed_at))

    async def _warned(self, e: PlatformWarned) -> None:
        await self._change(e.platform_id, lambda entry: lifecycle.evaluate(
            entry, e.year, Standing.WARNING, e.reason, e.rectify_by, e.warned_at))

    async def _revoked(self, e: PlatformRevoked) -> None:
        await self._change(e.platform_id, lambda entry: (
            lifecycle.evaluate(entry, e.year, Standing.REVOKED, e.reason, None, e.revoked_at) if e.year
            else lifecycle.revoke(entry, e.reason, e.revoked_at)))

    async def _national(self, e: NationalRecommended) -> None:
        await self._change(e.platform_id, lambda entry: (
            lifecycle.recommend_national(entry, e.profile, e.at) if e.outcome is NationalOutcome.PENDING
            else lifecycle.record_national_outcome(entry, e.outcome, e.at)))


async def differences(live: RegistryRepository, rebuilt: RegistryRepository) -> list[str]:
    """Where the rebuilt registry differs from the live one, record by record; empty when equal."""
    found: list[str] = []
    for name, store in live.collections.items():
        exclude = PRIVATE_OBJECTION_FIELDS if name == "objections" else set()
        mine = [i.model_dump(mode="json", exclude=exclude) for i in await store.find()]
        theirs = [i.model_dump(mode="json", exclude=exclude) for i in await rebuilt.collections[name].find()]
        if len(mine) != len(theirs):
            found.append(f"{name}: {len(mine)} live, {len(theirs)} rebuilt")
        found += [f"{name}: live {a} ≠ rebuilt {b}" for a, b in zip(mine, theirs, strict=False) if a != b]
    counts = [{k: n for k, n in (await r.tallies.counts()).items() if n} for r in (live, rebuilt)]
    if counts[0] != counts[1]:
        found.append(f"statistics: live {counts[0]} ≠ rebuilt {counts[1]}")
    return found


# Events projected between two hand-overs of what changed to the writer. The embedded database's insert costs by the
# command as well as by the document: handed over every 2,000 events, 100,000 took 23 s to write, against 20 s in
# one insert a collection; every 10,000, 21 s.
FLUSH_EVERY = 10_000
YIELD_EVERY = 100  # events projected between two turns of the event loop, in which the writes go on


async def rebuild(bootstrap: str, mongodb_uri: str, into: str, compare_with: str | None = None,
                  progress: Callable[[int], None] | None = None) -> Report:
    """Read the registry's topics from the beginning and project them in memory, writing the result into the
    empty database ``into`` as the projection goes on (`Writer`); then compare it with the live database
    ``compare_with``. ``progress`` gets the count of records read as the read goes on."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_uri)
    try:
        target = client[into]
        if await target.list_collection_names():
            raise RuntimeError(f"database {into} is not empty: replay writes only into an empty database")
        began = time.monotonic()
        memory = RegistryRepository.memory(Tracked)
        projector = Projector(memory)
        records = await read_records(bootstrap, projector.models, progress=progress)
        read = time.monotonic()
        log = Log()
        tail = await project(records.events(log), projector, Writer(memory, target))
        report = Report(records=log.records, duplicates=log.duplicates, unreadable=log.unreadable,
                        applied=projector.applied, refused=projector.refused)
        done = time.monotonic()
        report.seconds = {"read": read - began, "project": done - tail - read, "write": tail}
        if compare_with is not None:
            live = RegistryRepository.mongo(client[compare_with])
            report.differences = await differences(live, RegistryRepository.mongo(target))
        return report
    finally:
        await client.close()


async def project(events: Iterable[tuple[CloudEvent, Event]], projector: Projector, writer: Writer) -> float:
    """Apply ``events`` in order, handing what changed to ``writer`` every `FLUSH_EVERY` events and letting
    its writes go on every `YIELD_EVERY`; then write the rest. Returns the seconds the writes took after the
    last event was applied."""
    try:
        for n, (_, event) in enumerate(events, start=1):
            await projector.apply(event)  # in memory: it never waits, so the loop is given turns below
            if n % YIELD_EVERY == 0:
                if n % FLUSH_EVERY == 0:
                    writer.flush()
                await asyncio.sleep(0)
        projected = time.monotonic()
        await writer.close()
        return time.monotonic() - projected
    except BaseException:
        writer.last.cancel()  # and with it every write still waiting
        raise


class Tracked(MemoryStore[Any]):
    """A memory store that notes each key written since its changes were last taken (`take`)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed: dict[str, None] = {}  # an ordered set

    async def put(self, key: str, item: Any, session: Session = None) -> None:
        await super().put(key, item, session)
        self.changed[key] = None

    async def update(self, key: str, item: Any, session: Session = None) -> Any:
        written = await super().update(key, item, session)
        self.changed[key] = None
        return written

    async def add(self, key: str, item: Any, session: Session = None) -> bool:
        added = await super().add(key, item, session)
        if added:
            self.changed[key] = None
        return added

    def take(self) -> list[tuple[str, Any]]:
        """The items changed since the last take, as they are now."""
        taken, self.changed = [(key, self.items[key]) for key in self.changed], {}
        return taken


class Writer:
    """Writes a registry being projected in memory into an empty database while the projection goes on. Each
    `flush` hands over the items changed since the last (frozen: the projection replaces an item, never changes
    it, so a handed-over item stays as it was), and the writes run in the background one after another: the
    indexes first (SecantusDB builds an index over stored documents ~3x slower than on insert), then each
    hand-over, a key's first document inserted in bulk and a later one replacing it. `close` hands over the
    rest and writes the counts and the sequences."""

    def __init__(self, memory: RegistryRepository, db: Any) -> None:
        self.memory, self.db = memory, db
        self.stores = {name: store for name, store in memory.collections.items() if isinstance(store, Tracked)}
        self.written: dict[str, set[str]] = {name: set() for name in self.stores}
        self.last: asyncio.Task[None] = asyncio.create_task(ensure_indexes(db))

    def flush(self) -> None:
        if changed := {name: taken for name, store in self.stores.items() if (taken := store.take())}:
            self.last = asyncio.create_task(self._write(self.last, changed))

    async def close(self) -> None:
        self.flush()
        await self.last
        if counts := {k: n for k, n in (await self.memory.tallies.counts()).items() if n}:
            await self.db.statistics.insert_one({"_id": DOCUMENT, "counts": counts})
        sequences = self.memory.sequences
        if isinstance(sequences, MemorySequences) and sequences.last:
            await self.db.sequences.insert_many([{"_id": name, "last": last} for name, last in sequences.last.items()])

    async def _write(self, previous: asyncio.Task[None], changed: dict[str, list[tuple[str, Any]]]) -> None:
        await previous
        for name, items in changed.items():
            documents = await asyncio.to_thread(_documents, items)  # the projection goes on meanwhile
            written = self.written[name]
            if new := [d for d in documents if d["_id"] not in written]:
                await self.db[name].insert_many(new)
            if again := [ReplaceOne({"_id": d["_id"]}, d) for d in documents if d["_id"] in written]:
                await self.db[name].bulk_write(again)
            written.update(d["_id"] for d in new)


def _documents(items: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"_id": key, **item.model_dump(mode="json")} for key, item in items]
