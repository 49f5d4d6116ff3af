"""Screening's storage port, its MongoDB adapter and the in-memory fake (one contract test covers both)."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid, DuplicateKeyError
from zhongshi_runtime import turns
from zhongshi_runtime.errors import Refusal
from zhongshi_runtime.outbox import Session, transaction_memo
from zhongshi_runtime.queries import id_batches
from zhongshi_runtime.store import check_version, replace_versioned

from zhongshi_screening.chain import Case, RoundSettings, Stage
from zhongshi_screening.rules import RuleSet


class RuleSetConflict(Refusal):
    """A rule-set version is immutable: the same version with other content is refused (409)."""

    def __init__(self, version: str) -> None:
        super().__init__(f"规则集版本 {version} 已存在且内容不同；请使用新的版本号")


@dataclass(frozen=True)
class PriorityMarks:
    """The highest priority a city has given in a round: to an application it forwarded (fixed from then on), and
    in its latest ranking of those still awaiting it. Every priority given comes after both, so no two of the
    city's applications share one."""

    forwarded: int = 0
    ranked: int = 0

    @property
    def next(self) -> int:
        """The priority an application the city did not rank takes when it is forwarded."""
        return max(self.forwarded, self.ranked) + 1


@dataclass(frozen=True)
class CaseFilter:
    """Which cases a queue or summary covers."""

    round_id: str | None = None
    stage: Stage | None = None
    region_code: str | None = None
    city_code: str | None = None

    def query(self) -> dict[str, Any]:
        return {k: str(v) for k, v in vars(self).items() if v is not None}


class ScreeningRepository(Protocol):
    async def rule_set(self, version: str, session: Session = None) -> RuleSet | None: ...
    async def rule_sets(self) -> list[RuleSet]: ...
    async def add_rule_set(self, rule_set: RuleSet, session: Session = None) -> bool:
        """Store a new version; False when the identical version exists; RuleSetConflict when it differs."""
        ...
    async def save_screening(self, record: dict[str, Any], session: Session = None) -> None: ...
    async def screenings(self, application_id: str) -> list[dict[str, Any]]: ...
    async def case(self, application_id: str, session: Session = None) -> Case | None: ...
    async def save_case(self, case: Case, session: Session = None) -> Case:
        """Write ``case`` over the version it was read at (`StaleWrite` otherwise); return it at the new one."""
        ...
    async def cases(self, where: CaseFilter, *, offset: int = 0, limit: int = 10_000) -> tuple[int, list[Case]]: ...
    async def stage_counts(self) -> dict[tuple[str, Stage, str], int]:
        """How many cases each (round, stage, city) holds — without loading the cases."""
        ...
    async def take_turn(self, application_id: str, session: Session) -> None:
        """Let no other transaction taking the application's turn commit beside this one (`zhongshi_runtime.turns`):
        its handlers read what each other writes."""
        ...
    async def withdrawal(self, application_id: str, session: Session = None) -> int:
        """The revision at which the application was withdrawn, 0 when it was not."""
        ...
    async def record_withdrawal(self, application_id: str, revision: int, session: Session = None) -> None: ...
    async def settings(self, round_id: str, session: Session = None) -> RoundSettings | None: ...
    async def save_settings(self, settings: RoundSettings, session: Session = None) -> None: ...
    async def claim_quota(self, round_id: str, city_code: str, quota: int, session: Session = None) -> int | None:
        """Take one of the city's forwarding slots: the number used including it, or None when all are used."""
        ...
    async def release_quota(self, round_id: str, city_code: str, session: Session = None) -> None: ...
    async def set_quota(self, round_id: str, city_code: str, quota: int, session: Session) -> int:
        """Record a new quota on the city's usage, which a forward's claim writes too (so the two conflict
        rather than both commit), unless the city has forwarded more already; how many it has forwarded."""
        ...
    async def quota_used(self, round_id: str) -> dict[str, int]: ...
    async def priority_marks(self, round_id: str, city_code: str, session: Session = None) -> PriorityMarks: ...
    async def mark_forwarded(self, round_id: str, city_code: str, priority: int, session: Session = None) -> None:
        """Record a forwarded application's priority, on the usage a forward's claim writes."""
        ...
    async def mark_ranked(self, round_id: str, city_code: str, last: int, session: Session = None) -> None:
        """Record the last priority of the city's new ranking (written, so a forward at the same moment conflicts)."""
        ...


UNRANKED = 10**9


def _case_doc(case: Case) -> dict[str, Any]:
    return {"_id": case.id, **case.model_dump(mode="json", exclude={"id"}), "stage_since": case.stage_since,
            "queue_order": _queue_order(case)[0]}


def _queue_order(case: Case) -> tuple[int, Any, str]:
    """Ranked cases first (1, 2, …), then unranked in arrival order — the order a city works in."""
    return (UNRANKED if case.priority is None else case.priority, case.stage_since, case.id)


Tally = tuple[str, str, str]  # (round, stage, city): what the stage gauges count cases by
TALLIED = ("round_id", "stage", "city_code")


def _tally(doc: dict[str, Any]) -> Tally:
    return doc["round_id"], doc["stage"], doc["city_code"]


def _moves(before: Tally | None, after: Tally) -> list[tuple[str, str, str, int]]:
    """What a save changes in the tally: (round, stage, city, ±1) for the tally left and the one joined."""
    if before == after:
        return []
    return ([(*before, -1)] if before is not None else []) + [(*after, 1)]


def _case(doc: dict[str, Any]) -> Case:
    return Case.model_validate({**{k: v for k, v in doc.items() if k != "queue_order"}, "id": doc["_id"]})


class MongoScreeningRepository:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.db = db
        self._rule_sets: dict[str, RuleSet] = {}  # a stored version never changes (`add_rule_set`): read it once

    async def ensure_indexes(self) -> None:
        await self.db.screenings.create_index([("application_id", ASCENDING), ("revision", DESCENDING)])
        for key in ("region_code", "city_code"):
            await self.db.cases.create_index([(key, ASCENDING), ("stage", ASCENDING), ("round_id", ASCENDING)])
        await self.db.cases.create_index([("round_id", ASCENDING), ("stage", ASCENDING)])
        with contextlib.suppress(CollectionInvalid):  # made now: concurrent saves creating it would conflict
            await self.db.create_collection("stage_moves")

    async def rule_set(self, version: str, session: Session = None) -> RuleSet | None:
        if version not in self._rule_sets:
            doc = await self.db.rule_sets.find_one({"_id": version}, session=session)
            if doc is None:
                return None
            self._rule_sets[version] = RuleSet.model_validate(doc["rule_set"])
        return self._rule_sets[version]

    async def rule_sets(self) -> list[RuleSet]:
        return [RuleSet.model_validate(d["rule_set"]) async for d in self.db.rule_sets.find().sort("_id")]

    async def add_rule_set(self, rule_set: RuleSet, session: Session = None) -> bool:
        try:
            await self.db.rule_sets.insert_one({"_id": rule_set.version, "rule_set": rule_set.model_dump(mode="json")},
                                               session=session)
            return True
        except DuplicateKeyError:
            if await self.rule_set(rule_set.version) != rule_set:
                raise RuleSetConflict(rule_set.version) from None
            return False

    async def save_screening(self, record: dict[str, Any], session: Session = None) -> None:
        await self.db.screenings.replace_one({"_id": record["_id"]}, record, upsert=True, session=session)

    async def screenings(self, application_id: str) -> list[dict[str, Any]]:
        cursor = self.db.screenings.find({"application_id": application_id}).sort("revision", ASCENDING)
        return [d async for d in cursor]

    async def case(self, application_id: str, session: Session = None) -> Case | None:
        doc = await self.db.cases.find_one({"_id": application_id}, session=session)
        # what `save_case` would otherwise read again: the tally the case is in at the version read
        read_at = (doc.get("version") or 0) if doc else 0
        transaction_memo()[TALLIED, application_id, read_at] = _tally(doc) if doc else None
        return _case(doc) if doc else None

    async def save_case(self, case: Case, session: Session = None) -> Case:
        """Write the case and, when it moves between (round, stage, city) tallies, a record of the move beside it:
        an insert, which concurrent saves of one city never conflict on (see `stage_counts`). The tally it
        leaves is the one it was in at the version it was read at (the write is a compare-and-set on it)."""
        memo, read_at = transaction_memo(), (TALLIED, case.id, case.version)
        before = memo[read_at] if read_at in memo else await self._tally_of(case.id, session)
        version = await replace_versioned(self.db.cases, case.id, _case_doc(case), case.version, session)
        after: Tally = (case.round_id, case.stage.value, case.city_code)
        if moves := _moves(before, after):
            await self.db.stage_moves.insert_one({"moves": moves}, session=session)
        memo[TALLIED, case.id, version] = after
        return case.model_copy(update={"version": version})

    async def _tally_of(self, application_id: str, session: Session) -> Tally | None:
        doc = await self.db.cases.find_one({"_id": application_id}, dict.fromkeys(TALLIED, 1), session=session)
        return _tally(doc) if doc else None

    async def cases(self, where: CaseFilter, *, offset: int = 0, limit: int = 10_000) -> tuple[int, list[Case]]:
        query = where.query()
        total = await self.db.cases.count_documents(query)
        order = [("queue_order", ASCENDING), ("stage_since", ASCENDING), ("_id", ASCENDING)]
        return total, [_case(d) async for d in self.db.cases.find(query).sort(order).skip(offset).limit(limit)]

    async def stage_counts(self) -> dict[tuple[str, Stage, str], int]:
        """The tally, with the moves recorded since folded into it, in one transaction of its own. Reading every
        case instead took 300–600 ms at 2,000–3,600 cases (the embedded database decodes each whole case); a
        counter per tally updated by each save made concurrent actions of one city conflict."""
        async with self.db.client.start_session() as session:
            counts: Counter[Tally] = await session.with_transaction(self._fold)
        return {(r, Stage(s), c): n for (r, s, c), n in counts.items()}

    async def _fold(self, session: Session) -> Counter[Tally]:
        """Add the recorded moves to the stored tally and delete them; the first time, tally the cases themselves
        (the moves seen are in them). A move committed after this transaction began is neither seen nor deleted."""
        tally = await self.db.stage_tally.find_one({"_id": "cases"}, session=session)
        moves = await self.db.stage_moves.find({}, session=session).to_list(None)
        counts = Counter[Tally]()
        if tally is None:
            async for d in self.db.cases.find({}, dict.fromkeys(TALLIED, 1), session=session):
                counts[_tally(d)] += 1
        else:
            counts.update({(r, s, c): n for r, s, c, n in tally["counts"]})
            if not moves:
                return counts
            for r, s, c, n in (move for d in moves for move in d["moves"]):
                counts[r, s, c] += n
        counts = +counts  # a tally emptied by its moves is dropped
        await self.db.stage_tally.replace_one({"_id": "cases"}, {"counts": [[*k, n] for k, n in counts.items()]},
                                              upsert=True, session=session)
        for batch in id_batches([d["_id"] for d in moves]):
            await self.db.stage_moves.delete_many({"_id": {"$in": batch}}, session=session)
        return counts

    async def take_turn(self, application_id: str, session: Session) -> None:
        await turns.take_turn(self.db, application_id, session)

    async def withdrawal(self, application_id: str, session: Session = None) -> int:
        doc = await self.db.withdrawals.find_one({"_id": application_id}, session=session)
        return int(doc["revision"]) if doc else 0

    async def record_withdrawal(self, application_id: str, revision: int, session: Session = None) -> None:
        await self.db.withdrawals.replace_one({"_id": application_id}, {"revision": revision}, upsert=True,
                                              session=session)

    async def settings(self, round_id: str, session: Session = None) -> RoundSettings | None:
        doc = await self.db.round_settings.find_one({"_id": round_id}, {"_id": 0}, session=session)
        return RoundSettings.model_validate(doc) if doc else None

    async def save_settings(self, settings: RoundSettings, session: Session = None) -> None:
        await self.db.round_settings.replace_one(
            {"_id": settings.round_id}, settings.model_dump(mode="json"), upsert=True, session=session
        )

    async def _usage(self, round_id: str, city_code: str, session: Session) -> str:
        """The key of the city's usage record, made (nothing used) if missing."""
        await self._mark(round_id, city_code, {}, session)
        return f"{round_id}/{city_code}"

    async def claim_quota(self, round_id: str, city_code: str, quota: int, session: Session = None) -> int | None:
        key = await self._usage(round_id, city_code, session)
        doc = await self.db.quota_usage.find_one_and_update(
            {"_id": key, "used": {"$lt": quota}}, {"$inc": {"used": 1}}, return_document=True, session=session
        )
        return int(doc["used"]) if doc else None

    async def release_quota(self, round_id: str, city_code: str, session: Session = None) -> None:
        await self.db.quota_usage.update_one({"_id": f"{round_id}/{city_code}", "used": {"$gt": 0}},
                                             {"$inc": {"used": -1}}, session=session)

    async def set_quota(self, round_id: str, city_code: str, quota: int, session: Session) -> int:
        key = await self._usage(round_id, city_code, session)
        doc = await self.db.quota_usage.find_one_and_update(
            {"_id": key, "used": {"$lte": quota}}, {"$set": {"quota": quota}}, return_document=True, session=session
        ) or await self.db.quota_usage.find_one({"_id": key}, session=session)
        assert doc is not None  # `_usage` made it in this transaction
        return int(doc["used"])

    async def quota_used(self, round_id: str) -> dict[str, int]:
        prefix = f"{round_id}/"
        return {d["_id"].removeprefix(prefix): int(d["used"])
                async for d in self.db.quota_usage.find({"_id": {"$regex": f"^{re.escape(round_id)}/"}})}

    async def priority_marks(self, round_id: str, city_code: str, session: Session = None) -> PriorityMarks:
        doc = await self.db.quota_usage.find_one({"_id": f"{round_id}/{city_code}"}, session=session) or {}
        return PriorityMarks(forwarded=doc.get("forwarded", 0), ranked=doc.get("ranked", 0))

    async def mark_forwarded(self, round_id: str, city_code: str, priority: int, session: Session = None) -> None:
        await self._mark(round_id, city_code, {"$max": {"forwarded": priority}}, session)

    async def mark_ranked(self, round_id: str, city_code: str, last: int, session: Session = None) -> None:
        await self._mark(round_id, city_code, {"$set": {"ranked": last}}, session)

    async def _mark(self, round_id: str, city_code: str, update: dict[str, Any], session: Session) -> None:
        await self.db.quota_usage.update_one({"_id": f"{round_id}/{city_code}"},
                                             {**update, "$setOnInsert": {"used": 0}}, upsert=True, session=session)


class InMemoryScreeningRepository:
    """The fake for fast tests; behaves as the Mongo adapter does (see the contract test)."""

    def __init__(self) -> None:
        self._rule_sets: dict[str, RuleSet] = {}
        self._screenings: dict[str, dict[str, Any]] = {}
        self._cases: dict[str, Case] = {}
        self._withdrawals: dict[str, int] = {}
        self._settings: dict[str, RoundSettings] = {}
        self._used: dict[str, int] = {}
        self._marks: dict[str, PriorityMarks] = {}

    async def rule_set(self, version: str, session: Session = None) -> RuleSet | None:
        return self._rule_sets.get(version)

    async def rule_sets(self) -> list[RuleSet]:
        return [self._rule_sets[v] for v in sorted(self._rule_sets)]

    async def add_rule_set(self, rule_set: RuleSet, session: Session = None) -> bool:
        existing = self._rule_sets.get(rule_set.version)
        if existing is None:
            self._rule_sets[rule_set.version] = rule_set
            return True
        if existing != rule_set:
            raise RuleSetConflict(rule_set.version)
        return False

    async def save_screening(self, record: dict[str, Any], session: Session = None) -> None:
        self._screenings[record["_id"]] = dict(record)

    async def screenings(self, application_id: str) -> list[dict[str, Any]]:
        found = [r for r in self._screenings.values() if r["application_id"] == application_id]
        return sorted(found, key=lambda r: r["revision"])

    async def case(self, application_id: str, session: Session = None) -> Case | None:
        return self._cases.get(application_id)

    async def save_case(self, case: Case, session: Session = None) -> Case:
        check_version(case.id, self._cases.get(case.id), case.version)
        self._cases[case.id] = case.model_copy(update={"version": case.version + 1})
        return self._cases[case.id]

    async def cases(self, where: CaseFilter, *, offset: int = 0, limit: int = 10_000) -> tuple[int, list[Case]]:
        query = where.query()
        found = [c for c in self._cases.values() if all(str(getattr(c, k)) == v for k, v in query.items())]
        found.sort(key=_queue_order)
        return len(found), found[offset : offset + limit]

    async def stage_counts(self) -> dict[tuple[str, Stage, str], int]:
        return dict(Counter((c.round_id, c.stage, c.city_code) for c in self._cases.values()))

    async def take_turn(self, application_id: str, session: Session) -> None:
        return None  # one event at a time: nothing interleaves in memory

    async def withdrawal(self, application_id: str, session: Session = None) -> int:
        return self._withdrawals.get(application_id, 0)

    async def record_withdrawal(self, application_id: str, revision: int, session: Session = None) -> None:
        self._withdrawals[application_id] = revision

    async def settings(self, round_id: str, session: Session = None) -> RoundSettings | None:
        return self._settings.get(round_id)

    async def save_settings(self, settings: RoundSettings, session: Session = None) -> None:
        self._settings[settings.round_id] = settings

    async def claim_quota(self, round_id: str, city_code: str, quota: int, session: Session = None) -> int | None:
        key = f"{round_id}/{city_code}"
        if self._used.get(key, 0) >= quota:
            return None
        self._used[key] = self._used.get(key, 0) + 1
        return self._used[key]

    async def release_quota(self, round_id: str, city_code: str, session: Session = None) -> None:
        key = f"{round_id}/{city_code}"
        self._used[key] = max(0, self._used.get(key, 0) - 1)

    async def set_quota(self, round_id: str, city_code: str, quota: int, session: Session) -> int:
        return self._used.get(f"{round_id}/{city_code}", 0)

    async def quota_used(self, round_id: str) -> dict[str, int]:
        return {k.split("/", 1)[1]: v for k, v in self._used.items() if k.startswith(f"{round_id}/")}

    async def priority_marks(self, round_id: str, city_code: str, session: Session = None) -> PriorityMarks:
        return self._marks.get(f"{round_id}/{city_code}", PriorityMarks())

    async def mark_forwarded(self, round_id: str, city_code: str, priority: int, session: Session = None) -> None:
        marks = await self.priority_marks(round_id, city_code)
        self._marks[f"{round_id}/{city_code}"] = PriorityMarks(max(marks.forwarded, priority), marks.ranked)

    async def mark_ranked(self, round_id: str, city_code: str, last: int, session: Session = None) -> None:
        marks = await self.priority_marks(round_id, city_code)
        self._marks[f"{round_id}/{city_code}"] = PriorityMarks(marks.forwarded, last)
