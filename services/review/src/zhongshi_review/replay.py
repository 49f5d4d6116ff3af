"""Review's replay: its handlers rebuild the candidates (forwarded applications, with exception decisions and
withdrawals applied) from the topics it consumes; the rest of its state is decided by requests."""

from __future__ import annotations

from zhongshi_runtime.messaging import Consumers
from zhongshi_runtime.outbox import UnitOfWork
from zhongshi_runtime.rebuild import Database, Scope

from zhongshi_review import handlers
from zhongshi_review.repository import ReviewRepository, ensure_indexes

BY_REQUEST = "decided by requests; review's own events record it for others, it does not consume them"
SCOPE = Scope(
    service="review",
    compared={"candidates": frozenset(), "candidate_notes": frozenset()},
    left_out={
        "experts": "the expert pool (专家库) is kept by requests; no event carries experts or their contacts",
        "panels": BY_REQUEST, "scores": BY_REQUEST, "review_settings": BY_REQUEST, "inspections": BY_REQUEST,
        "overrides": BY_REQUEST, "round_states": BY_REQUEST, "scoring_started": BY_REQUEST,
        "draw_commitments": BY_REQUEST, "pool_snapshots": BY_REQUEST,
    },
)


async def wire(consumers: Consumers, uow: UnitOfWork, db: Database) -> None:
    """Review's live handler registration, on a repository in ``db``."""
    await ensure_indexes(db)
    handlers.register(consumers, uow, ReviewRepository.mongo(db))
