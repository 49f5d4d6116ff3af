"""Panel draws that cannot be gamed (commit-reveal): the round's draw commitment, the draw, top-ups of panels
short of members, and re-running a draw to check it."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field
from zhongshi_contracts.events import Event
from zhongshi_contracts.review import PanelDrawn
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import Session, UnitOfWork

from zhongshi_review.domain import Candidate, Draw, DrawFailed, commitment_of, draw_panel, draw_rules, snapshot_of
from zhongshi_review.progress import settings_of
from zhongshi_review.records import DrawCommitment, Panel, PoolSnapshot, TopUp
from zhongshi_review.repository import ReviewRepository
from zhongshi_review.rubric import RoundConfig
from zhongshi_review.verification import verify_panel

Province = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
ProvinceOrExpert = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL, Role.EXPERT))]
DRAW_BATCH = 100  # panels stored per transaction: a round of 1,000 candidates is drawn in ten


class DrawRequest(BaseModel):
    """Which candidates to draw for. There is no seed: it was fixed by the round's commitment."""

    model_config = ConfigDict(extra="forbid")

    application_ids: list[str] | None = Field(None, max_length=2000,
                                              description="Only these; default: every ready candidate.")


def _refused(message: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, message)


def _event(panel: Panel, candidates: int, excluded: int, topped_up: list[str]) -> PanelDrawn:
    return PanelDrawn(application_id=panel.application_id, round_id=panel.round_id, panel_id=panel.panel_id,
                      experts=panel.experts, seed=panel.seed, candidates=candidates, excluded=excluded,
                      drawn_at=panel.drawn_at, score_by=panel.score_by, commitment=panel.commitment,
                      pool_version=panel.top_ups[-1].pool_version if topped_up else panel.pool_version,
                      topped_up=topped_up)


def _topped_up(panel: Panel, cand: Candidate, settings: RoundConfig, pool: PoolSnapshot, now: datetime
               ) -> tuple[Panel, Draw]:
    """The panel filled to the round's size from ``pool``, with the top-up recorded; 409 when it cannot be."""
    missing = settings.panel_size - len(panel.experts)
    if missing <= 0:
        raise _refused(f"评审组已有{len(panel.experts)}人，无需补充")
    excluded = sorted({d.expert_id for d in panel.declined} | set(panel.experts))
    seed, today = f"{panel.seed}/top-up-{len(panel.top_ups) + 1}", shanghai_date(now)
    try:
        drawn = draw_panel(pool.experts, cand, settings, seed, today, size=missing, exclude=frozenset(excluded))
    except DrawFailed as exc:
        raise _refused(f"补充抽取失败：{exc}") from None
    top = TopUp(experts=drawn.experts, seed=seed, pool_version=pool.version, excluded=excluded, size=missing,
                conflict_years=settings.conflict_years, exclude_same_city=settings.exclude_same_city, on=today,
                at=now)
    return panel.model_copy(update={"experts": [*panel.experts, *drawn.experts],
                                    "top_ups": [*panel.top_ups, top]}), drawn


def router(repo: ReviewRepository, uow: UnitOfWork, clock: Clock) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["panel draws"])

    async def open_round(round_id: str) -> None:
        state = await repo.rounds.get(round_id)
        if state and state.confirmed_at:
            raise _refused("本批次评审结果已确认")

    async def keep(pool: PoolSnapshot, session: Session) -> None:
        """Store the snapshot unless stored already (read first: a failed insert aborts the transaction)."""
        if await repo.pool_snapshots.get(pool.version, session) is None:
            await repo.pool_snapshots.put(pool.version, pool, session)

    async def snapshot() -> PoolSnapshot:
        version, experts = snapshot_of(await repo.experts.find())
        return PoolSnapshot(version=version, experts=experts, taken_at=clock())

    @api.post("/rounds/{round_id}/draw-commitment", status_code=201, responses=errors(409),
              summary="Fix the round's draw before any panel: a secret seed's hash, the pool snapshot, the rules")
    async def commit(round_id: str, principal: Province, request: Request) -> dict[str, object]:
        await open_round(round_id)
        settings, pool, now = await settings_of(repo, round_id), await snapshot(), clock()
        seed = secrets.token_hex(16)  # generated here: nobody chooses it, nobody sees it before the draw
        commitment = DrawCommitment(
            round_id=round_id, commitment=commitment_of(seed), seed=seed, pool_version=pool.version,
            panel_size=settings.panel_size, conflict_years=settings.conflict_years,
            exclude_same_city=settings.exclude_same_city, on=shanghai_date(now), committed_at=now)

        async def work(session: Session) -> list[Event]:
            if not await repo.commitments.add(round_id, commitment, session):
                raise _refused("本批次已发布抽取承诺，不能重新生成")
            await keep(pool, session)
            return []

        await uow.run(work, audit=Audit.request(
            principal, request, "draw.commit", "round", round_id, round_id=round_id,
            reason=f"承诺值 {commitment.commitment}", outcome=f"专家库版本 {pool.version}；{len(pool.experts)} 名专家"))
        return commitment.published()

    @api.get("/rounds/{round_id}/draw-commitment", summary="The round's draw commitment; the seed once revealed",
             responses=errors(404))
    async def read_commitment(round_id: str, _: ProvinceOrExpert) -> dict[str, object]:
        found = await repo.commitments.get(round_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"批次 {round_id} 尚未发布抽取承诺")
        return found.published()

    async def committed(round_id: str) -> tuple[DrawCommitment, PoolSnapshot]:
        commitment = await repo.commitments.get(round_id)
        if commitment is None:
            raise _refused("请先发布本批次的抽取承诺，再抽取评审组")
        pool = await repo.pool_snapshots.get(commitment.pool_version)
        if pool is None:
            raise _refused(f"专家库快照 {commitment.pool_version} 缺失")
        return commitment, pool

    async def plan(round_id: str, commitment: DrawCommitment, pool: PoolSnapshot, only: list[str] | None
                   ) -> tuple[list[dict[str, Any]], list[tuple[Panel, PanelDrawn]]]:
        """The panels to draw for the round's ready candidates without one, and a result line per candidate."""
        settings, now = await settings_of(repo, round_id), clock()
        rules = draw_rules(round_id, commitment.panel_size, commitment.conflict_years, commitment.exclude_same_city)
        wanted = [c for c in await repo.candidates.find(round_id=round_id)
                  if c.ready and (only is None or c.id in only)]
        before = await repo.panels.many(c.id for c in wanted)
        results: list[dict[str, Any]] = []
        new: list[tuple[Panel, PanelDrawn]] = []
        for cand in (c for c in wanted if c.id not in before):
            try:
                drawn = draw_panel(pool.experts, cand, rules, commitment.seed, commitment.on)
            except DrawFailed as exc:
                results.append({"application_id": cand.id, "error": str(exc)})
                continue
            panel = Panel(application_id=cand.id, round_id=round_id, panel_id=f"P-{cand.id}", seed=commitment.seed,
                          experts=drawn.experts, drawn=drawn.experts, drawn_at=now,
                          score_by=settings.score_by(shanghai_date(now)), commitment=commitment.commitment,
                          pool_version=pool.version)
            new.append((panel, _event(panel, drawn.candidates, len(drawn.exclusions), [])))
            results.append({"application_id": cand.id, "panel_id": panel.panel_id, "experts": drawn.experts,
                            "seed": commitment.seed, "commitment": commitment.commitment,
                            "pool_version": pool.version, "excluded_for_conflicts": drawn.exclusions,
                            "score_by": panel.score_by})
        return results, new

    @api.post("/rounds/{round_id}/panels", summary="Draw panels for the round's ready candidates, revealing the "
              "committed seed", responses=errors(409))
    async def draw(round_id: str, body: DrawRequest, principal: Province, request: Request) -> list[dict[str, Any]]:
        await open_round(round_id)
        commitment, pool = await committed(round_id)
        results, new = await plan(round_id, commitment, pool, body.application_ids)
        revealed = commitment.model_copy(update={"revealed_at": clock()})
        for start in range(0, len(new), DRAW_BATCH):  # a transaction per batch, not per candidate
            audit = Audit.request(principal, request, "panel.draw", "round", round_id, round_id=round_id,
                                  reason=f"随机种子 {commitment.seed}（承诺值 {commitment.commitment}）")

            async def work(session: Session, batch: list[tuple[Panel, PanelDrawn]] = new[start:start + DRAW_BATCH],
                           audit: Audit = audit) -> list[Event]:
                current = await repo.commitments.get(round_id, session)
                if current is not None and current.revealed_at is None:
                    await repo.commitments.put(round_id, revealed, session)
                drawn = await repo.panels.many(p.application_id for p, _ in batch)  # by a concurrent draw
                added = [(p, e) for p, e in batch if p.application_id not in drawn]
                for panel, _ in added:  # an insert that fails on a duplicate would abort the whole transaction
                    await repo.panels.put(panel.application_id, panel, session)
                audit.touches(p.application_id for p, _ in added)
                audit.outcome = "；".join(f"{p.application_id}：{'、'.join(p.experts)}" for p, _ in added)
                return [e for _, e in added]

            await uow.run(work, audit=audit)
        return results

    async def candidate(application_id: str) -> Candidate:
        found = await repo.candidates.get(application_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"申报 {application_id} 不在专家评审阶段")
        return found

    async def panel_of(application_id: str) -> Panel:
        found = await repo.panels.get(application_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "尚未抽取评审组")
        return found

    @api.post("/panels/{application_id}/top-up", summary="Fill a panel short of members from the current pool",
              responses=errors(404, 409))
    async def top_up(application_id: str, principal: Province, request: Request) -> Panel:
        panel = await panel_of(application_id)
        await open_round(panel.round_id)
        settings, cand = await settings_of(repo, panel.round_id), await candidate(application_id)
        pool = await snapshot()
        updated, drawn = _topped_up(panel, cand, settings, pool, clock())

        async def work(session: Session) -> list[Event]:
            if await repo.panels.get(application_id, session) != panel:  # changed meanwhile: the caller retries
                raise _refused("评审组刚刚发生变化，请刷新后重试")
            await keep(pool, session)
            await repo.panels.put(application_id, updated, session)
            return [_event(updated, drawn.candidates, len(drawn.exclusions), drawn.experts)]

        await uow.run(work, audit=Audit.request(
            principal, request, "panel.top_up", "application", application_id, application_ids=[application_id],
            round_id=panel.round_id, reason=f"随机种子 {updated.top_ups[-1].seed}；专家库版本 {pool.version}",
            outcome="补充 " + "、".join(drawn.experts)))
        return updated

    @api.get("/panels/{application_id}/verification", summary="Re-run a panel's draw from its commitment and pool "
             "snapshot, and say whether it reproduces", responses=errors(404, 409))
    async def verification(application_id: str, _: Province) -> dict[str, Any]:
        panel = await panel_of(application_id)
        commitment = await repo.commitments.get(panel.round_id)
        if panel.commitment is None or commitment is None:
            raise _refused("该评审组抽取于抽取承诺机制启用之前，无法复核")
        return await verify_panel(repo, panel, commitment, await candidate(application_id))

    return api
