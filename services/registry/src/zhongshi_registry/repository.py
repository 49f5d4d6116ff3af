"""The registry's storage: one small document-store port per record type, a MongoDB adapter and an in-memory
fake that pass the same contract test."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from zhongshi_runtime.store import MemoryStore, MongoStore, Store

from zhongshi_registry.domain import DecisionRecord, Objection, Profile, Publicity
from zhongshi_registry.entries import AnnualReport, Entry


class Candidacy(BaseModel):
    """An application screened as a candidate (or not), for the pipeline-by-city statistics."""

    round_id: str
    city_code: str
    candidate: bool


class RegistryRepository:
    """The stores the registry keeps; `mongo` and `memory` build the two adapters."""

    def __init__(self, make: Any) -> None:
        self.pipeline: Store[Candidacy] = make("pipeline", Candidacy)
        self.profiles: Store[Profile] = make("profiles", Profile)
        self.decisions: Store[DecisionRecord] = make("decisions", DecisionRecord)
        self.publicity: Store[Publicity] = make("publicity", Publicity)
        self.objections: Store[Objection] = make("objections", Objection)
        self.entries: Store[Entry] = make("entries", Entry)
        self.reports: Store[AnnualReport] = make("annual_reports", AnnualReport)

    @classmethod
    def mongo(cls, db: AsyncDatabase[Any]) -> RegistryRepository:
        return cls(lambda name, model: MongoStore(db, name, model))

    @classmethod
    def memory(cls) -> RegistryRepository:
        return cls(lambda name, model: MemoryStore())


async def ensure_indexes(db: AsyncDatabase[Any]) -> None:
    await db.decisions.create_index([("round_id", ASCENDING)])
    await db.objections.create_index([("round_id", ASCENDING)])
    await db.entries.create_index([("applicant_credit_code", ASCENDING)])
    await db.entries.create_index([("certificate_no", ASCENDING)])
    await db.annual_reports.create_index([("year", ASCENDING)])
