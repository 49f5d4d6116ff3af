"""Screening's replay: its handlers screen every submission again against the same rule-set version and
record withdrawals, from the topics it consumes. The recommendation chain's steps are taken by requests
(officials' opinions, priorities, quotas): those fields and collections are left out of the comparison."""

from __future__ import annotations

from zhongshi_runtime.clock import utc_now
from zhongshi_runtime.messaging import Consumers
from zhongshi_runtime.outbox import UnitOfWork
from zhongshi_runtime.rebuild import Database, Scope

from zhongshi_screening import handlers
from zhongshi_screening.metrics import ScreeningMetrics
from zhongshi_screening.repository import MongoScreeningRepository

BY_REQUEST = "set by the recommendation chain's requests (初审推荐), not by a consumed event"
# A case's place in the chain, moved by officials' requests (its queue order follows the city's priority).
CHAIN_FIELDS = frozenset({"stage", "stage_since", "opinions", "earlier_opinions", "priority", "queue_order",
                          "version"})
SCOPE = Scope(
    service="screening",
    compared={"screenings": frozenset({"screened_at"}), "cases": CHAIN_FIELDS, "withdrawals": frozenset()},
    left_out={"round_settings": BY_REQUEST, "quota_usage": BY_REQUEST,
              "cases (stage, opinions, priority)": BY_REQUEST,
              "stage_moves, stage_tally": "the stage gauges' count of the cases, kept beside them",
              "screenings (screened_at)": "when the replay screened it, not when the live service did"},
    reference={"rule_sets": None},
)


async def wire(consumers: Consumers, uow: UnitOfWork, db: Database) -> None:
    """Screening's live handler registration, on a repository in ``db`` (with the live rule sets)."""
    repo = MongoScreeningRepository(db)
    await repo.ensure_indexes()
    handlers.register(consumers, uow, repo, ScreeningMetrics(consumers.metrics.registry), utc_now)
