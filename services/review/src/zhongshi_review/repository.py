"""Review's storage: a port with methods named for what review keeps and asks, over one small document store
per record type (`Store`: a MongoDB adapter and an in-memory fake that pass the same contract test)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from zhongshi_runtime import turns
from zhongshi_runtime.outbox import Session
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
    """What review keeps, read and written by name; `mongo` and `memory` build it over the two adapters. The
    stores are the adapter detail (the handlers and the tests' seeding still reach them directly)."""

    def __init__(self, make: Any, take: Callable[[list[str], Session], Awaitable[None]]) -> None:
        self._take = take  # the turns of the applications named (`zhongshi_runtime.turns`)
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

    # ---- the expert pool and the round's settings ----
    async def expert(self, expert_id: str) -> Expert | None:
        return await self.experts.get(expert_id)

    async def pool(self) -> list[Expert]:
        return await self.experts.find()

    async def save_experts(self, experts: Iterable[Expert], session: Session) -> None:
        for expert in experts:
            await self.experts.put(expert.id, expert, session)

    async def round_config(self, round_id: str, session: Session = None) -> RoundConfig:
        """The round's review settings, the defaults when none were set."""
        return await self.settings.get(round_id, session) or RoundConfig(round_id=round_id)

    async def save_round_config(self, config: RoundConfig, session: Session) -> None:
        await self.settings.put(config.round_id, config, session)

    async def scoring_started_in(self, round_id: str, session: Session = None) -> ScoringStarted | None:
        return await self.scoring_started.get(round_id, session)

    async def mark_scoring_started(self, mark: ScoringStarted, session: Session) -> None:
        await self.scoring_started.put(mark.round_id, mark, session)

    # ---- candidates, panels and score sheets ----
    async def candidate(self, application_id: str, session: Session = None) -> Candidate | None:
        return await self.candidates.get(application_id, session)

    async def save_candidate(self, candidate: Candidate, session: Session) -> None:
        await self.candidates.put(candidate.id, candidate, session)

    async def take_turn(self, application_id: str, session: Session) -> None:
        """Let no other transaction taking the application's turn commit beside this one (`zhongshi_runtime.turns`):
        the forwarded handler reads the note the others write, and they read the candidate it writes."""
        await self._take([application_id], session)

    async def take_turns(self, application_ids: Iterable[str], session: Session) -> None:
        """Every application's turn at once: a round's confirmation reads what their transactions write."""
        await self._take(list(application_ids), session)

    async def note(self, application_id: str, session: Session = None) -> CandidateNote | None:
        """What other topics said of an application (exception decisions, withdrawal), kept for its candidate."""
        return await self.notes.get(application_id, session)

    async def save_note(self, application_id: str, note: CandidateNote, session: Session) -> None:
        await self.notes.put(application_id, note, session)

    async def candidates_by_id(self, ids: Iterable[str]) -> dict[str, Candidate]:
        return await self.candidates.many(ids)

    async def candidate_ids(self, round_id: str) -> list[str]:
        return [c.id for c in await self.candidates.find(round_id=round_id)]

    async def ready_candidates(self, round_id: str) -> list[Candidate]:
        """The round's candidates that can be reviewed (not withdrawn, declined or awaiting an exception)."""
        return [c for c in await self.candidates.find(round_id=round_id) if c.ready]

    async def awaiting_exception(self, round_id: str) -> list[Candidate]:
        """The round's candidates still waiting for the province's exception decision (C5/C6 flagged)."""
        return [c for c in await self.candidates.find(round_id=round_id)
                if c.awaiting_exception and not (c.withdrawn or c.declined_by_province)]

    async def panel(self, application_id: str, session: Session = None) -> Panel | None:
        return await self.panels.get(application_id, session)

    async def panels_by_id(self, ids: Iterable[str]) -> dict[str, Panel]:
        return await self.panels.many(ids)

    async def panels_of(self, expert_id: str) -> list[Panel]:
        return await self.panels.find(experts=expert_id)

    async def save_panel(self, panel: Panel, session: Session) -> None:
        await self.panels.put(panel.application_id, panel, session)

    async def update_panel(self, panel: Panel, session: Session) -> Panel:
        """Compare-and-set on the panel's version (`StaleWrite` when it changed since it was read)."""
        return await self.panels.update(panel.application_id, panel, session)

    async def sheet(self, application_id: str, expert_id: str) -> ScoreSheet | None:
        return await self.scores.get(sheet_key(application_id, expert_id))

    async def sheets(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ScoreSheet]:
        """The stored sheets of these (application, expert) pairs."""
        found = await self.scores.many(sheet_key(a, e) for a, e in pairs)
        return {(s.application_id, s.expert_id): s for s in found.values()}

    async def add_sheet(self, sheet: ScoreSheet, session: Session) -> bool:
        """Store an expert's sheet; False when the expert has scored the application already."""
        return await self.scores.add(sheet_key(sheet.application_id, sheet.expert_id), sheet, session)

    # ---- inspections, overrides and the round's confirmation ----
    async def save_inspection(self, inspection: Inspection, session: Session) -> None:
        await self.inspections.put(inspection.application_id, inspection, session)

    async def inspections_by_id(self, ids: Iterable[str]) -> dict[str, Inspection]:
        return await self.inspections.many(ids)

    async def save_override(self, override: Override, session: Session) -> None:
        await self.overrides.put(override.application_id, override, session)

    async def overrides_by_id(self, ids: Iterable[str]) -> dict[str, Override]:
        return await self.overrides.many(ids)

    async def round_state(self, round_id: str, session: Session = None) -> RoundState | None:
        return await self.rounds.get(round_id, session)

    async def confirm_round(self, state: RoundState, session: Session) -> bool:
        """Record the round's confirmation; False when it was confirmed already."""
        return await self.rounds.add(state.round_id, state, session)

    # ---- draw commitments and pool snapshots ----
    async def commitment(self, round_id: str, session: Session = None) -> DrawCommitment | None:
        return await self.commitments.get(round_id, session)

    async def add_commitment(self, commitment: DrawCommitment, session: Session) -> bool:
        """Record the round's commitment; False when the round has one already."""
        return await self.commitments.add(commitment.round_id, commitment, session)

    async def save_commitment(self, commitment: DrawCommitment, session: Session) -> None:
        await self.commitments.put(commitment.round_id, commitment, session)

    async def pool_snapshot(self, version: str) -> PoolSnapshot | None:
        return await self.pool_snapshots.get(version)

    async def keep_snapshot(self, pool: PoolSnapshot, session: Session) -> None:
        """Store the snapshot unless stored already (read first: a failed insert aborts the transaction)."""
        if await self.pool_snapshots.get(pool.version, session) is None:
            await self.pool_snapshots.put(pool.version, pool, session)

    @classmethod
    def mongo(cls, db: AsyncDatabase[Any]) -> ReviewRepository:
        return cls(lambda name, model: MongoStore(db, name, model),
                   lambda keys, session: turns.take_turns(db, keys, session))

    @classmethod
    def memory(cls) -> ReviewRepository:
        return cls(lambda name, model: MemoryStore(), _one_at_a_time)


async def _one_at_a_time(keys: list[str], session: Session) -> None:
    return None  # one event at a time: nothing interleaves in memory


def sheet_key(application_id: str, expert_id: str) -> str:
    return f"{application_id}/{expert_id}"


async def ensure_indexes(db: AsyncDatabase[Any]) -> None:
    await db.candidates.create_index([("round_id", ASCENDING)])
    await db.panels.create_index([("experts", ASCENDING)])
    await db.panels.create_index([("round_id", ASCENDING)])
    await db.scores.create_index([("application_id", ASCENDING)])
