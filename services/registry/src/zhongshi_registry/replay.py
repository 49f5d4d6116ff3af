"""Rebuilding the registry from events alone. Its inputs (screened, withdrawn, forwarded, decided) and its own events
(publicity, objections, entries and their lifecycle) are applied in the order they happened, through the
same rules the live service uses, so the result equals the live state. What no event carries — an
objector's name, grounds and evidence, kept private — is left blank and left out of the comparison."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from pymongo import AsyncMongoClient
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
from zhongshi_runtime.rebuild import Report
from zhongshi_runtime.replay import read_log
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


async def rebuild(bootstrap: str, mongodb_uri: str, into: str, compare_with: str | None = None,
                  progress: Callable[[int], None] | None = None) -> Report:
    """Read the registry's topics from the beginning, project them in memory and write the result into the
    empty database ``into`` in bulk; then compare it with the live database ``compare_with``. ``progress``
    gets the count of records read as the read goes on."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_uri)
    try:
        target = client[into]
        if await target.list_collection_names():
            raise RuntimeError(f"database {into} is not empty: replay writes only into an empty database")
        began = time.monotonic()
        memory = RegistryRepository.memory()
        projector = Projector(memory)
        log = await read_log(bootstrap, projector.models, progress=progress)
        read = time.monotonic()
        for _, event in log.events:
            await projector.apply(event)
        projected = time.monotonic()
        await save(memory, target)
        report = Report(records=log.records, duplicates=log.duplicates, unreadable=log.unreadable,
                        applied=projector.applied, refused=projector.refused)
        report.seconds = {"read": read - began, "project": projected - read, "write": time.monotonic() - projected}
        if compare_with is not None:
            live = RegistryRepository.mongo(client[compare_with])
            report.differences = await differences(live, RegistryRepository.mongo(target))
        return report
    finally:
        await client.close()


def _documents(store: MemoryStore[Any]) -> asyncio.Task[list[dict[str, Any]]]:
    """A collection's documents, built in a worker thread."""
    return asyncio.create_task(asyncio.to_thread(
        lambda: [{"_id": key, **item.model_dump(mode="json")} for key, item in store.items.items()]))


async def save(memory: RegistryRepository, db: Any) -> None:
    """Write an in-memory registry into a database: the indexes, then each collection in one bulk insert. The next
    collection's documents are built in a thread while the database inserts the previous one."""
    await ensure_indexes(db)  # first: SecantusDB builds an index over stored documents ~3x slower than on insert
    stores = [(name, store) for name, store in memory.collections.items()
              if isinstance(store, MemoryStore) and store.items]
    building: asyncio.Task[list[dict[str, Any]]] | None = None
    for index, (name, store) in enumerate(stores):
        documents = await (building or _documents(store))
        building = _documents(stores[index + 1][1]) if index + 1 < len(stores) else None
        await db[name].insert_many(documents)
    counts = {k: n for k, n in (await memory.tallies.counts()).items() if n}
    if counts:
        await db.statistics.insert_one({"_id": DOCUMENT, "counts": counts})
    if isinstance(memory.sequences, MemorySequences) and memory.sequences.last:
        await db.sequences.insert_many([{"_id": name, "last": last} for name, last in memory.sequences.last.items()])
