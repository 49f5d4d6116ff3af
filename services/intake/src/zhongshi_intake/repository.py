"""Intake's storage port, its MongoDB adapter and the in-memory fake (one contract test covers both)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from zhongshi_runtime.errors import Refusal
from zhongshi_runtime.outbox import Session
from zhongshi_runtime.store import check_version, replace_versioned

from zhongshi_intake.domain import Application, Round


class AlreadyExists(Refusal):
    """A record with this id (or idempotency key) exists already (409, naming it)."""


@dataclass(frozen=True)
class ApplicationFilter:
    """Which applications a listing covers: scope first, then the caller's filters."""

    applicant_credit_code: str | None = None
    region_code: str | None = None
    city_code: str | None = None
    round_id: str | None = None
    status: str | None = None

    def query(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


class IntakeRepository(Protocol):
    async def add_round(self, round_: Round, session: Session = None) -> None: ...
    async def learn_rule_set(self, version: str, session: Session = None) -> None:
        """Remember a rule-set version screening published (idempotent)."""
        ...
    async def knows_rule_set(self, version: str) -> bool: ...
    async def rule_sets(self) -> list[str]: ...
    async def round(self, round_id: str) -> Round | None: ...
    async def rounds(self) -> list[Round]: ...
    async def add(self, app: Application, session: Session = None) -> None: ...
    async def get(self, application_id: str, session: Session = None) -> Application | None: ...
    async def by_idempotency_key(self, credit_code: str, key: str) -> Application | None: ...
    async def save(self, app: Application, session: Session = None) -> Application:
        """Write ``app`` over the version it was read at (`StaleWrite` otherwise); return it at the new one."""
        ...
    async def delete(self, application_id: str, session: Session = None) -> None: ...
    async def list(self, where: ApplicationFilter, *, offset: int, limit: int) -> tuple[int, list[Application]]: ...


def _to_doc(app: Application) -> dict[str, Any]:
    return {"_id": app.id, **app.model_dump(mode="json", exclude={"id"}), "updated_at": app.updated_at}


def _from_doc(doc: dict[str, Any]) -> Application:
    return Application.model_validate({**doc, "id": doc["_id"]})


class MongoIntakeRepository:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.db = db

    async def ensure_indexes(self) -> None:
        apps = self.db.applications
        await apps.create_index(
            [("applicant_credit_code", ASCENDING), ("idempotency_key", ASCENDING)], unique=True,
            partialFilterExpression={"idempotency_key": {"$type": "string"}},
        )
        for field in ("applicant_credit_code", "region_code", "city_code"):
            await apps.create_index([(field, ASCENDING), ("updated_at", DESCENDING)])
        await apps.create_index([("round_id", ASCENDING), ("status", ASCENDING)])

    async def add_round(self, round_: Round, session: Session = None) -> None:
        try:
            await self.db.rounds.insert_one({"_id": round_.id, **round_.model_dump(mode="json")}, session=session)
        except DuplicateKeyError:
            raise AlreadyExists(f"批次 {round_.id} 已存在") from None

    async def learn_rule_set(self, version: str, session: Session = None) -> None:
        await self.db.rule_sets.update_one({"_id": version}, {"$setOnInsert": {"version": version}}, upsert=True,
                                           session=session)

    async def knows_rule_set(self, version: str) -> bool:
        return await self.db.rule_sets.find_one({"_id": version}) is not None

    async def rule_sets(self) -> list[str]:
        return [d["_id"] async for d in self.db.rule_sets.find({}, {"_id": 1}).sort("_id", ASCENDING)]

    async def round(self, round_id: str) -> Round | None:
        doc = await self.db.rounds.find_one({"_id": round_id}, {"_id": 0})
        return Round.model_validate(doc) if doc else None

    async def rounds(self) -> list[Round]:
        return [Round.model_validate(d) async for d in self.db.rounds.find({}, {"_id": 0}).sort("opens_on", -1)]

    async def add(self, app: Application, session: Session = None) -> None:
        try:
            await self.db.applications.insert_one(_to_doc(app), session=session)
        except DuplicateKeyError:
            raise AlreadyExists(f"申报 {app.id} 已存在") from None

    async def get(self, application_id: str, session: Session = None) -> Application | None:
        doc = await self.db.applications.find_one({"_id": application_id}, session=session)
        return _from_doc(doc) if doc else None

    async def by_idempotency_key(self, credit_code: str, key: str) -> Application | None:
        doc = await self.db.applications.find_one({"applicant_credit_code": credit_code, "idempotency_key": key})
        return _from_doc(doc) if doc else None

    async def save(self, app: Application, session: Session = None) -> Application:
        version = await replace_versioned(self.db.applications, app.id, _to_doc(app), app.version, session)
        return app.model_copy(update={"version": version})

    async def delete(self, application_id: str, session: Session = None) -> None:
        await self.db.applications.delete_one({"_id": application_id}, session=session)

    async def list(self, where: ApplicationFilter, *, offset: int, limit: int) -> tuple[int, list[Application]]:
        query = where.query()
        total = await self.db.applications.count_documents(query)
        cursor = self.db.applications.find(query).sort([("updated_at", DESCENDING), ("_id", ASCENDING)])
        return total, [_from_doc(d) async for d in cursor.skip(offset).limit(limit)]


class InMemoryIntakeRepository:
    """The fake for fast tests; behaves as the Mongo adapter does (see the contract test)."""

    def __init__(self) -> None:
        self._rounds: dict[str, Round] = {}
        self._apps: dict[str, Application] = {}
        self._rule_sets: set[str] = set()

    async def learn_rule_set(self, version: str, session: Session = None) -> None:
        self._rule_sets.add(version)

    async def knows_rule_set(self, version: str) -> bool:
        return version in self._rule_sets

    async def rule_sets(self) -> list[str]:
        return sorted(self._rule_sets)

    async def add_round(self, round_: Round, session: Session = None) -> None:
        if round_.id in self._rounds:
            raise AlreadyExists(f"批次 {round_.id} 已存在")
        self._rounds[round_.id] = round_

    async def round(self, round_id: str) -> Round | None:
        return self._rounds.get(round_id)

    async def rounds(self) -> list[Round]:
        return sorted(self._rounds.values(), key=lambda r: r.opens_on, reverse=True)

    async def add(self, app: Application, session: Session = None) -> None:
        if app.id in self._apps or (
            app.idempotency_key and await self.by_idempotency_key(app.applicant_credit_code, app.idempotency_key)
        ):
            raise AlreadyExists(f"申报 {app.id} 已存在")
        self._apps[app.id] = app

    async def get(self, application_id: str, session: Session = None) -> Application | None:
        return self._apps.get(application_id)

    async def by_idempotency_key(self, credit_code: str, key: str) -> Application | None:
        return next(
            (a for a in self._apps.values()
             if a.applicant_credit_code == credit_code and a.idempotency_key == key), None,
        )

    async def save(self, app: Application, session: Session = None) -> Application:
        check_version(app.id, self._apps.get(app.id), app.version)
        self._apps[app.id] = app.model_copy(update={"version": app.version + 1})
        return self._apps[app.id]

    async def delete(self, application_id: str, session: Session = None) -> None:
        self._apps.pop(application_id, None)

    async def list(self, where: ApplicationFilter, *, offset: int, limit: int) -> tuple[int, list[Application]]:
        query = where.query()
        found = [a for a in self._apps.values() if all(str(getattr(a, k)) == v for k, v in query.items())]
        found.sort(key=lambda a: a.id)
        found.sort(key=lambda a: a.updated_at, reverse=True)
        return len(found), found[offset : offset + limit]
