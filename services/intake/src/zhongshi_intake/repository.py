"""Intake's storage port, its MongoDB adapter and the in-memory fake (one contract test covers both)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from zhongshi_runtime.outbox import Session

from zhongshi_intake.domain import Application, Round


class AlreadyExists(Exception):
    """A record with this id (or idempotency key) exists already."""


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
    async def round(self, round_id: str) -> Round | None: ...
    async def rounds(self) -> list[Round]: ...
    async def add(self, app: Application, session: Session = None) -> None: ...
    async def get(self, application_id: str, session: Session = None) -> Application | None: ...
    async def by_idempotency_key(self, credit_code: str, key: str) -> Application | None: ...
    async def save(self, app: Application, session: Session = None) -> None: ...
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
            raise AlreadyExists(round_.id) from None

    async def round(self, round_id: str) -> Round | None:
        doc = await self.db.rounds.find_one({"_id": round_id}, {"_id": 0})
        return Round.model_validate(doc) if doc else None

    async def rounds(self) -> list[Round]:
        return [Round.model_validate(d) async for d in self.db.rounds.find({}, {"_id": 0}).sort("opens_on", -1)]

    async def add(self, app: Application, session: Session = None) -> None:
        try:
            await self.db.applications.insert_one(_to_doc(app), session=session)
        except DuplicateKeyError:
            raise AlreadyExists(app.id) from None

    async def get(self, application_id: str, session: Session = None) -> Application | None:
        doc = await self.db.applications.find_one({"_id": application_id}, session=session)
        return _from_doc(doc) if doc else None

    async def by_idempotency_key(self, credit_code: str, key: str) -> Application | None:
        doc = await self.db.applications.find_one({"applicant_credit_code": credit_code, "idempotency_key": key})
        return _from_doc(doc) if doc else None

    async def save(self, app: Application, session: Session = None) -> None:
        await self.db.applications.replace_one({"_id": app.id}, _to_doc(app), session=session)

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

    async def add_round(self, round_: Round, session: Session = None) -> None:
        if round_.id in self._rounds:
            raise AlreadyExists(round_.id)
        self._rounds[round_.id] = round_

    async def round(self, round_id: str) -> Round | None:
        return self._rounds.get(round_id)

    async def rounds(self) -> list[Round]:
        return sorted(self._rounds.values(), key=lambda r: r.opens_on, reverse=True)

    async def add(self, app: Application, session: Session = None) -> None:
        if app.id in self._apps or (
            app.idempotency_key and await self.by_idempotency_key(app.applicant_credit_code, app.idempotency_key)
        ):
            raise AlreadyExists(app.id)
        self._apps[app.id] = app

    async def get(self, application_id: str, session: Session = None) -> Application | None:
        return self._apps.get(application_id)

    async def by_idempotency_key(self, credit_code: str, key: str) -> Application | None:
        return next(
            (a for a in self._apps.values()
             if a.applicant_credit_code == credit_code and a.idempotency_key == key), None,
        )

    async def save(self, app: Application, session: Session = None) -> None:
        self._apps[app.id] = app

    async def list(self, where: ApplicationFilter, *, offset: int, limit: int) -> tuple[int, list[Application]]:
        query = where.query()
        found = [a for a in self._apps.values() if all(str(getattr(a, k)) == v for k, v in query.items())]
        found.sort(key=lambda a: a.id)
        found.sort(key=lambda a: a.updated_at, reverse=True)
        return len(found), found[offset : offset + limit]
