"""Re-running a panel's draw from what was recorded: the revealed seed against its commitment, the pool
snapshot against its version, the first draw and every top-up against the experts recorded (reads only)."""

from __future__ import annotations

from typing import Any

from zhongshi_review.domain import (
    Candidate,
    DrawFailed,
    commitment_of,
    committed_rules,
    draw_panel,
    draw_rules,
    snapshot_of,
)
from zhongshi_review.pool import Expert
from zhongshi_review.records import DrawCommitment, Panel
from zhongshi_review.repository import ReviewRepository
from zhongshi_review.rubric import RoundConfig


async def _pool(repo: ReviewRepository, version: str) -> tuple[list[Expert], bool]:
    """The snapshot's experts, and whether they still hash to the version recorded."""
    snapshot = await repo.pool_snapshot(version)
    if snapshot is None:
        return [], False
    return snapshot.experts, snapshot_of(snapshot.experts)[0] == version


def _rerun(pool: list[Expert], cand: Candidate, rules: RoundConfig, seed: str, on: Any, **kw: Any) -> list[str]:
    try:
        return draw_panel(pool, cand, rules, seed, on, **kw).experts
    except DrawFailed:
        return []


async def verify_panel(repo: ReviewRepository, panel: Panel, commitment: DrawCommitment, cand: Candidate
                       ) -> dict[str, Any]:
    """Whether the panel reproduces; each check is reported so a failure says which input differs."""
    pool, intact = await _pool(repo, commitment.pool_version)
    rules = committed_rules(commitment)
    recomputed = _rerun(pool, cand, rules, panel.seed, commitment.on)
    seed_ok = commitment_of(panel.seed) == commitment.commitment == panel.commitment
    checks = []
    for top in panel.top_ups:
        top_pool, top_intact = await _pool(repo, top.pool_version)
        top_rules = draw_rules(panel.round_id, top.size, top.conflict_years, top.exclude_same_city)
        again = _rerun(top_pool, cand, top_rules, top.seed, top.on, exclude=frozenset(top.excluded))
        checks.append({"recorded": top.experts, "recomputed": again, "seed": top.seed,
                       "pool_version": top.pool_version, "pool_intact": top_intact,
                       "reproduced": top_intact and again == top.experts})
    first_ok = intact and seed_ok and recomputed == panel.drawn
    return {"application_id": panel.application_id, "round_id": panel.round_id, "seed": panel.seed,
            "commitment": commitment.commitment, "committed_at": commitment.committed_at,
            "seed_matches_commitment": seed_ok, "pool_version": commitment.pool_version, "pool_intact": intact,
            "recorded": panel.drawn, "recomputed": recomputed, "top_ups": checks,
            "reproduced": first_ok and all(c["reproduced"] for c in checks)}
