"""Panel draws that cannot be gamed (commit-reveal): the round's draw commitment, the draw, top-ups of panels
short of members, and re-running a draw to check it."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from zhongshi_contracts.events import Event
from zhongshi_contracts.review import PanelDrawn
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.clock import shanghai_date
from zhongshi_runtime.errors import must_exist
from zhongshi_runtime.outbox import Outcome, Session

from zhongshi_review.domain import Candidate, Draw, DrawFailed, commitment_of, committed_rules, draw_panel, snapshot_of
from zhongshi_review.records import DrawCommitment, Panel, PoolSnapshot, TopUp
from zhongshi_review.rubric import RoundConfig
from zhongshi_review.service import Deps, ReviewRefused, candidate, draw_rules_of, drawn_panel
from zhongshi_review.verification import verify_panel

DRAW_BATCH = 100  # panels stored per transaction: a round of 1,000 candidates is drawn in ten
Drawn = list[tuple[Panel, PanelDrawn]]


def _event(panel: Panel, candidates: int, excluded: int, topped_up: list[str]) -> PanelDrawn:
    return PanelDrawn(application_id=panel.application_id, round_id=panel.round_id, panel_id=panel.panel_id,
                      experts=panel.experts, seed=panel.seed, candidates=candidates, excluded=excluded,
                      drawn_at=panel.drawn_at, score_by=panel.score_by, commitment=panel.commitment,
                      pool_version=panel.top_ups[-1].pool_version if topped_up else panel.pool_version,
                      topped_up=topped_up)


async def snapshot(deps: Deps) -> PoolSnapshot:
    version, experts = snapshot_of(await deps.repo.pool())
    return PoolSnapshot(version=version, experts=experts, taken_at=deps.clock())


async def commit(deps: Deps, round_id: str, audit: Audit) -> DrawCommitment:
    """Fix the round's draw before any panel: a secret seed's hash, the pool snapshot and the rules."""
    settings, pool, now = await deps.repo.round_config(round_id), await snapshot(deps), deps.clock()
    seed = secrets.token_hex(16)  # generated here: nobody chooses it, nobody sees it before the draw
    commitment = DrawCommitment(
        round_id=round_id, commitment=commitment_of(seed), seed=seed, pool_version=pool.version,
        panel_size=settings.panel_size, conflict_years=settings.conflict_years,
        exclude_same_city=settings.exclude_same_city, on=shanghai_date(now), committed_at=now)

    async def work(session: Session) -> list[Event]:
        if not await deps.repo.add_commitment(commitment, session):
            raise ReviewRefused("本批次已发布抽取承诺，不能重新生成")
        await deps.repo.keep_snapshot(pool, session)
        return []

    audit.reason = f"承诺值 {commitment.commitment}"
    audit.outcome = f"专家库版本 {pool.version}；{len(pool.experts)} 名专家"
    await deps.uow.run(work, audit=audit)
    return commitment


async def read_commitment(deps: Deps, round_id: str) -> DrawCommitment:
    return must_exist(await deps.repo.commitment(round_id), f"批次 {round_id} 尚未发布抽取承诺")


async def _committed(deps: Deps, round_id: str) -> tuple[DrawCommitment, PoolSnapshot]:
    commitment = await deps.repo.commitment(round_id)
    if commitment is None:
        raise ReviewRefused("请先发布本批次的抽取承诺，再抽取评审组")
    pool = await deps.repo.pool_snapshot(commitment.pool_version)
    if pool is None:
        raise ReviewRefused(f"专家库快照 {commitment.pool_version} 缺失")
    return commitment, pool


def _new_panel(cand: Candidate, drawn: Draw, commitment: DrawCommitment, settings: RoundConfig, now: datetime
               ) -> Panel:
    return Panel(application_id=cand.id, round_id=cand.round_id, panel_id=f"P-{cand.id}", seed=commitment.seed,
                 experts=drawn.experts, drawn=drawn.experts, drawn_at=now,
                 score_by=settings.score_by(shanghai_date(now)), commitment=commitment.commitment,
                 pool_version=commitment.pool_version)


async def _plan(deps: Deps, round_id: str, commitment: DrawCommitment, pool: PoolSnapshot,
                only: list[str] | None) -> tuple[list[dict[str, Any]], Drawn]:
    """The panels to draw for the round's ready candidates without one, and a result line per candidate."""
    settings, now = await deps.repo.round_config(round_id), deps.clock()
    rules = committed_rules(commitment)
    wanted = [c for c in await deps.repo.ready_candidates(round_id) if only is None or c.id in only]
    before = await deps.repo.panels_by_id(c.id for c in wanted)
    results: list[dict[str, Any]] = []
    new: Drawn = []
    for cand in (c for c in wanted if c.id not in before):
        try:
            drawn = draw_panel(pool.experts, cand, rules, commitment.seed, commitment.on)
        except DrawFailed as exc:  # reported on the candidate's line; the others are drawn
            deps.metrics.draw_failures.inc()
            results.append({"application_id": cand.id, "error": str(exc)})
            continue
        panel = _new_panel(cand, drawn, commitment, settings, now)
        new.append((panel, _event(panel, drawn.candidates, len(drawn.exclusions), [])))
        results.append({"application_id": cand.id, "panel_id": panel.panel_id, "experts": drawn.experts,
                        "seed": commitment.seed, "commitment": commitment.commitment,
                        "pool_version": pool.version, "excluded_for_conflicts": drawn.exclusions,
                        "score_by": panel.score_by})
    return results, new


async def _store_batch(deps: Deps, revealed: DrawCommitment, batch: Drawn, audit: Audit) -> None:
    """Store one batch of panels in one transaction, revealing the seed with the first."""
    async def work(session: Session) -> Outcome[int]:
        current = await deps.repo.commitment(revealed.round_id, session)
        if current is not None and current.revealed_at is None:
            await deps.repo.save_commitment(revealed, session)
        drawn = await deps.repo.panels_by_id(p.application_id for p, _ in batch)  # by a concurrent draw
        added = [(p, e) for p, e in batch if p.application_id not in drawn]
        for panel, _ in added:  # an insert that fails on a duplicate would abort the whole transaction
            await deps.repo.save_panel(panel, session)
        audit.touches(p.application_id for p, _ in added)
        audit.outcome = "；".join(f"{p.application_id}：{'、'.join(p.experts)}" for p, _ in added)
        return Outcome(len(added), [e for _, e in added])

    stored = await deps.uow.run(work, audit=audit)
    deps.metrics.panels.labels("draw").inc(stored)


async def draw(deps: Deps, round_id: str, only: list[str] | None, audit_of: Callable[[str], Audit]
               ) -> list[dict[str, Any]]:
    """Draw panels for the round's ready candidates, revealing the committed seed; ``audit_of`` makes the audit
    of each batch's transaction."""
    commitment, pool = await _committed(deps, round_id)
    results, new = await _plan(deps, round_id, commitment, pool, only)
    revealed = commitment.model_copy(update={"revealed_at": deps.clock()})
    for start in range(0, len(new), DRAW_BATCH):  # a transaction per batch, not per candidate
        audit = audit_of(f"随机种子 {commitment.seed}（承诺值 {commitment.commitment}）")
        await _store_batch(deps, revealed, new[start:start + DRAW_BATCH], audit)
    return results


def topped_up(panel: Panel, cand: Candidate, settings: RoundConfig, pool: PoolSnapshot, now: datetime
              ) -> tuple[Panel, Draw]:
    """The panel filled to the round's size from ``pool``, with the top-up recorded; refused when it cannot be."""
    missing = settings.panel_size - len(panel.experts)
    if missing <= 0:
        raise ReviewRefused(f"评审组已有{len(panel.experts)}人，无需补充")
    excluded = sorted({d.expert_id for d in panel.declined} | set(panel.experts))
    seed, today = f"{panel.seed}/top-up-{len(panel.top_ups) + 1}", shanghai_date(now)
    try:
        drawn = draw_panel(pool.experts, cand, settings, seed, today, size=missing, exclude=frozenset(excluded))
    except DrawFailed as exc:
        raise DrawFailed(f"补充抽取失败：{exc}") from None
    top = TopUp(experts=drawn.experts, seed=seed, pool_version=pool.version, excluded=excluded, size=missing,
                conflict_years=settings.conflict_years, exclude_same_city=settings.exclude_same_city, on=today,
                at=now)
    return panel.model_copy(update={"experts": [*panel.experts, *drawn.experts],
                                    "top_ups": [*panel.top_ups, top]}), drawn


async def top_up(deps: Deps, panel: Panel, audit: Audit) -> Panel:
    """Fill a panel short of members from the current pool, under the rules the round's commitment fixed."""
    rules, cand = await draw_rules_of(deps, panel.round_id), await candidate(deps, panel.application_id)
    pool = await snapshot(deps)
    updated, drawn = topped_up(panel, cand, rules, pool, deps.clock())

    async def work(session: Session) -> Outcome[Panel]:
        if await deps.repo.panel(panel.application_id, session) != panel:  # changed meanwhile: the caller retries
            raise ReviewRefused("评审组刚刚发生变化，请刷新后重试")
        await deps.repo.keep_snapshot(pool, session)
        await deps.repo.save_panel(updated, session)
        return Outcome(updated, [_event(updated, drawn.candidates, len(drawn.exclusions), drawn.experts)])

    audit.round_id = panel.round_id
    audit.reason = f"随机种子 {updated.top_ups[-1].seed}；专家库版本 {pool.version}"
    audit.outcome = "补充 " + "、".join(drawn.experts)
    saved = await deps.uow.run(work, audit=audit)
    deps.metrics.panels.labels("top_up").inc()
    return saved


async def verification(deps: Deps, application_id: str) -> dict[str, Any]:
    """Re-run a panel's draw from its commitment and pool snapshot, and say whether it reproduces."""
    panel = await drawn_panel(deps, application_id)
    commitment = await deps.repo.commitment(panel.round_id)
    if panel.commitment is None or commitment is None:
        raise ReviewRefused("该评审组抽取于抽取承诺机制启用之前，无法复核")
    return await verify_panel(deps.repo, panel, commitment, await candidate(deps, application_id))
