"""Review's storage: one small document-store port per record type, a MongoDB adapter and an in-memory
fake that pass the same contract test."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from zhongshi_runtime.store import MemoryStore, MongoStore, Store

from zhongshi_review.domain import Candidate
from zhongshi_review.pool import Expert
from zhongshi_review.records import (
    CandidateNote,
    DrawCommitment,
    Inspection,
    Override,
    Panel,
    PoolSnapshot,
    RoundState,
    ScoreSheet,
    ScoringStarted,
)
from zhongshi_review.rubric import RoundConfig


class ReviewRepository:
    """The stores review keeps; `mongo` and `memory` build the two adapters."""

    def __init__(self, make: Any) -> None:
        self.experts: Store[Expert] = make("experts", Expert)
        self.candidates: Store[Candidate] = make("candidates", Candidate)
        self.panels: Store[Panel] = make("panels", Panel)
        self.scores: Store[ScoreSheet] = make("scores", ScoreSheet)
        self.settings: Store[RoundConfig] = make("review_settings", RoundConfig)
        self.inspections: Store[Inspection] = make("inspections", Inspection)
        self.overrides: Store[Override] = make("overrides", Override)
        self.rounds: Store[RoundState] = make("round_states", RoundState)
        self.notes: Store[CandidateNote] = make("candidate_notes", CandidateNote)
        self.scoring_started: Store[ScoringStarted] = make("scoring_started", ScoringStarted)
        self.commitments: Store[DrawCommitment] = make("draw_commitments", DrawCommitment)
        self.pool_snapshots: Store[PoolSnapshot] = make("pool_snapshots", PoolSnapshot)

    @classmethod
    def mongo(cls, db: AsyncDatabase[Any]) -> ReviewRepository:
        return cls(lambda name, model: MongoStore(db, name, model))

    @classmethod
    def memory(cls) -> ReviewRepository:
        return cls(lambda name, model: MemoryStore())


async def ensure_indexes(db: AsyncDatabase[Any]) -> None:
    await db.candidates.create_index([("round_id", ASCENDING)])
    await db.panels.create_index([("experts", ASCENDING)])
    await db.panels.create_index([("round_id", ASCENDING)])
    await db.scores.create_index([("application_id", ASCENDING)])
