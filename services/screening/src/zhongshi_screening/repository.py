"""Screening's storage port, its MongoDB adapter and the in-memory fake (one contract test covers both)."""

from __future__ import annotations

from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from zhongshi_runtime.outbox import Session

from zhongshi_screening.rules import RuleSet


class RuleSetConflict(Exception):
    """A rule-set version is immutable: the same version with other content is refused."""


class ScreeningRepository(Protocol):
    async def rule_set(self, version: str, session: Session = None) -> RuleSet | None: ...
    async def rule_sets(self) -> list[RuleSet]: ...
    async def add_rule_set(self, rule_set: RuleSet) -> bool:
        """Store a new version; False when the identical version exists; RuleSetConflict when it differs."""
        ...
    async def save_screening(self, record: dict[str, Any], session: Session = None) -> None: ...
    async def screenings(self, application_id: str) -> list[dict[str, Any]]: ...
    async def application(self, application_id: str, session: Session = None) -> dict[str, Any] | None: ...
    async def save_application(self, record: dict[str, Any], session: Session = None) -> None: ...


class MongoScreeningRepository:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.db = db

    async def ensure_indexes(self) -> None:
        await self.db.screenings.create_index([("application_id", ASCENDING), ("revision", DESCENDING)])
        await self.db.screenings.create_index([("outcome", ASCENDING), ("round_id", ASCENDING)])

    async def rule_set(self, version: str, session: Session = None) -> RuleSet | None:
        doc = await self.db.rule_sets.find_one({"_id": version}, session=session)
        return RuleSet.model_validate(doc["rule_set"]) if doc else None

    async def rule_sets(self) -> list[RuleSet]:
        return [RuleSet.model_validate(d["rule_set"]) async for d in self.db.rule_sets.find().sort("_id")]

    async def add_rule_set(self, rule_set: RuleSet) -> bool:
        try:
            await self.db.rule_sets.insert_one({"_id": rule_set.version, "rule_set": rule_set.model_dump(mode="json")})
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

    async def application(self, application_id: str, session: Session = None) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self.db.applications.find_one({"_id": application_id}, session=session)
        return doc

    async def save_application(self, record: dict[str, Any], session: Session = None) -> None:
        await self.db.applications.replace_one({"_id": record["_id"]}, record, upsert=True, session=session)


class InMemoryScreeningRepository:
    """The fake for fast tests; behaves as the Mongo adapter does (see the contract test)."""

    def __init__(self) -> None:
        self._rule_sets: dict[str, RuleSet] = {}
        self._screenings: dict[str, dict[str, Any]] = {}
        self._applications: dict[str, dict[str, Any]] = {}

    async def rule_set(self, version: str, session: Session = None) -> RuleSet | None:
        return self._rule_sets.get(version)

    async def rule_sets(self) -> list[RuleSet]:
        return [self._rule_sets[v] for v in sorted(self._rule_sets)]

    async def add_rule_set(self, rule_set: RuleSet) -> bool:
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

    async def application(self, application_id: str, session: Session = None) -> dict[str, Any] | None:
        return self._applications.get(application_id)

    async def save_application(self, record: dict[str, Any], session: Session = None) -> None:
        self._applications[record["_id"]] = dict(record)
