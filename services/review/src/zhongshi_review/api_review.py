"""Panels, assignments, scoring, inspections and the round's decision (province and experts)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from zhongshi_contracts.events import Event
from zhongshi_contracts.review import (
    DECISION_LABELS,
    AssignmentDeclined,
    Decision,
    PanelMember,
    ReviewDecided,
    Scored,
)
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import Session, UnitOfWork
from zhongshi_runtime.preconditions import IfMatch, expect, tag
from zhongshi_runtime.store import Store

from zhongshi_review.domain import (
    Candidate,
    ScoreProblem,
    check_sheet,
    weighted_total,
    without_member,
)
from zhongshi_review.progress import propose, round_standings, settings_of, standing
from zhongshi_review.records import Inspection, Override, Panel, RoundState, ScoreSheet, ScoringStarted
from zhongshi_review.repository import ReviewRepository
from zhongshi_review.rubric import RoundConfig, Rubric

Province = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
ExpertCaller = Annotated[Principal, Depends(require(Role.EXPERT))]
Note = Annotated[str, Field(min_length=2, max_length=2000)]


class Sheet(BaseModel):
    scores: dict[str, int]
    comments: dict[str, str] = Field(default_factory=dict)
    overall_comment: str = Field("", max_length=4000)


class Reason(BaseModel):
    reason: Note


class Reconciliation(BaseModel):
    note: Note


class InspectionResult(BaseModel):
    passed: bool
    notes: str = Field("", max_length=4000)


class OverrideRequest(BaseModel):
    decision: Decision
    justification: Note


def _audit(principal: Principal, request: Request, action: str, application_id: str, round_id: str,
           **details: Any) -> Audit:
    return Audit.request(principal, request, action, "application", application_id, application_ids=[application_id],
                         round_id=round_id, **details)


def _refused(message: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, message)


def router(repo: ReviewRepository, uow: UnitOfWork, clock: Clock) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["expert review"])

    async def open_round(round_id: str) -> None:
        state = await repo.rounds.get(round_id)
        if state and state.confirmed_at:
            raise _refused("本批次评审结果已确认")

    async def candidate(application_id: str) -> Candidate:
        found = await repo.candidates.get(application_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"申报 {application_id} 不在专家评审阶段")
        return found

    async def my_panel(application_id: str, expert: Principal) -> Panel:
        """The panel of an application the expert is assigned to; 404 otherwise (not revealed)."""
        panel = await repo.panels.get(application_id)
        if panel is None or expert.organisation not in panel.experts:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"没有申报 {application_id} 的评审任务")
        return panel

    async def pin_rubric(round_id: str, rubric: Rubric, session: Session) -> None:
        """Fix the round's rubric with its first sheet; refuse a sheet checked against a rubric changed since.
        Only the first sheet writes: it rewrites the settings, so a settings change racing it conflicts and one
        of the two retries; later sheets only read (a rubric change is refused once the mark exists)."""
        settings = await repo.settings.get(round_id, session) or RoundConfig(round_id=round_id)
        if settings.rubric != rubric:
            raise _refused("本批次评分标准刚刚更新，请刷新后按新标准评分")
        if await repo.scoring_started.get(round_id, session) is None:
            await repo.settings.put(round_id, settings, session)
            await repo.scoring_started.put(round_id, ScoringStarted(round_id=round_id, rubric_version=rubric.version,
                                                                    at=clock()), session)

    async def put(store: Store[Any], key: str, item: BaseModel, audit: Audit) -> None:
        """Store one record with its audit, in one transaction."""
        async def work(session: Session) -> list[Event]:
            await store.put(key, item, session)
            return []

        await uow.run(work, audit=audit)

    # ---- panels (province); draws are in api_draws ----
    @api.get("/panels/{application_id}", summary="A panel with every score sheet (province)",
             responses=errors(404))
    async def read_panel(application_id: str, _: Province, response: Response) -> dict[str, Any]:
        cand = await candidate(application_id)
        state = await standing(repo, cand, await settings_of(repo, cand.round_id))
        if state.panel is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "尚未抽取评审组")
        tag(response, state.panel.version)
        return {"panel": state.panel, "sheets": state.sheets, "missing": state.missing,
                "score": state.scoring.score if state.scoring else None}

    # ---- assignments (experts) ----
    @api.get("/assignments", summary="My assignments")
    async def assignments(expert: ExpertCaller) -> list[dict[str, Any]]:
        panels = await repo.panels.find(experts=expert.organisation)
        cands = await repo.candidates.many(p.application_id for p in panels)
        sheets = await repo.scores.many(f"{p.application_id}/{expert.organisation}" for p in panels)
        return [{"application_id": cand.id, "round_id": cand.round_id, "platform_name": cand.platform_name,
                 "applicant_name": cand.applicant_name, "lead": panel.lead == expert.organisation,
                 "scored": f"{cand.id}/{expert.organisation}" in sheets, "score_by": panel.score_by}
                for panel in panels if (cand := cands.get(panel.application_id))]

    @api.get("/assignments/{application_id}", summary="An assignment: dossier, report, opinions, my score",
             responses=errors(404))
    async def assignment(application_id: str, expert: ExpertCaller, response: Response) -> dict[str, Any]:
        panel = await my_panel(application_id, expert)
        tag(response, panel.version)
        cand = await candidate(application_id)
        settings = await settings_of(repo, cand.round_id)
        state = await standing(repo, cand, settings)
        closed = len(state.sheets) == len(panel.experts)  # others' scores only once everyone has scored
        return {
            "application_id": cand.id, "platform_name": cand.platform_name, "dossier": cand.dossier,
            "screening_report": cand.clauses, "opinions": cand.opinions, "rubric": settings.rubric,
            "lead": panel.lead == expert.organisation,
            "my_sheet": next((s for s in state.sheets if s.expert_id == expert.organisation), None),
            "scoring_closed": closed, "panel_sheets": state.sheets if closed else None,
            "missing": state.missing,
        }

    @api.post("/assignments/{application_id}/score", summary="Score against the rubric",
              responses=errors(404, 409))
    async def score(application_id: str, sheet: Sheet, expert: ExpertCaller, request: Request) -> ScoreSheet:
        panel = await my_panel(application_id, expert)
        await open_round(panel.round_id)
        rubric = (await settings_of(repo, panel.round_id)).rubric
        try:
            check_sheet(rubric, sheet.scores, sheet.comments)
        except ScoreProblem as exc:
            raise HTTPException(422, [{"loc": ["body", "scores", exc.field], "msg": str(exc),
                                       "type": "value_error"}]) from None
        record = ScoreSheet(application_id=application_id, panel_id=panel.panel_id, expert_id=expert.organisation,
                            rubric_version=rubric.version, scores=sheet.scores, comments=sheet.comments,
                            overall_comment=sheet.overall_comment, total=weighted_total(rubric, sheet.scores),
                            scored_at=clock())

        async def work(session: Session) -> list[Event]:
            await pin_rubric(panel.round_id, rubric, session)
            if not await repo.scores.add(f"{application_id}/{expert.organisation}", record, session):
                raise _refused("您已对该申报评分，不能重复提交")
            return [Scored(application_id=application_id, round_id=panel.round_id, panel_id=panel.panel_id,
                           expert_id=expert.organisation, rubric_version=rubric.version, total=record.total,
                           scores=record.scores, scored_at=record.scored_at)]

        await uow.run(work, audit=_audit(expert, request, "assignment.score", application_id, panel.round_id,
                                         reason=sheet.overall_comment, outcome=str(record.total)))
        return record

    @api.post("/assignments/{application_id}/decline", summary="Decline (declaring a conflict); a redraw follows",
              responses=errors(404, 409, 412))
    async def decline(application_id: str, body: Reason, expert: ExpertCaller, request: Request,
                      if_match: IfMatch = None) -> dict[str, Any]:
        panel = await my_panel(application_id, expert)
        await open_round(panel.round_id)
        if await repo.scores.get(f"{application_id}/{expert.organisation}"):
            raise _refused("已评分的任务不能回避")
        cand = await candidate(application_id)
        settings, pool = await settings_of(repo, cand.round_id), await repo.experts.find()
        replaced: list[str | None] = []
        audit = _audit(expert, request, "assignment.decline", application_id, panel.round_id, reason=body.reason)

        async def work(session: Session) -> list[Event]:
            """The panel is read and written in one transaction, over its version: no decline is undone."""
            current = await repo.panels.get(application_id, session)
            if current is None or expert.organisation not in current.experts:
                raise _refused("该任务已回避")
            expect(if_match, application_id, current.version)
            updated, replacement = without_member(current, expert.organisation, body.reason, pool, cand, settings,
                                                  clock(), shanghai_date(clock()))
            await repo.panels.update(application_id, updated, session)
            replaced[:] = [replacement]
            audit.outcome = f"补抽 {replacement}" if replacement else "待补充"
            return [AssignmentDeclined(application_id=application_id, round_id=panel.round_id,
                                       panel_id=panel.panel_id, expert_id=expert.organisation, reason=body.reason,
                                       replacement=replacement, declined_at=clock())]

        await uow.run(work, audit=audit)
        return {"replacement_drawn": replaced[0] is not None,
                "message": "已回避并补抽专家" if replaced[0] else "已回避；符合条件的专家不足，待省经信厅补充"}

    @api.post("/assignments/{application_id}/reconcile", summary="The lead's note on diverging scores",
              responses=errors(404, 409, 412))
    async def reconcile(application_id: str, body: Reconciliation, expert: ExpertCaller, request: Request,
                        response: Response, if_match: IfMatch = None) -> Panel:
        panel = await my_panel(application_id, expert)
        expect(if_match, application_id, panel.version)
        await open_round(panel.round_id)
        if panel.lead != expert.organisation:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "仅评审组组长可出具协调意见")
        saved: list[Panel] = []

        async def work(session: Session) -> list[Event]:
            note = panel.model_copy(update={"reconciliation": body.note})
            saved[:] = [await repo.panels.update(application_id, note, session)]  # a decline since: StaleWrite
            return []

        await uow.run(work, audit=_audit(expert, request, "panel.reconcile", application_id, panel.round_id,
                                         reason=body.note))
        tag(response, saved[0].version)
        return saved[0]

    # ---- inspection and decisions (province) ----
    @api.post("/applications/{application_id}/inspection", summary="Record the on-site inspection (现场核查)",
              responses=errors(404, 409))
    async def inspection(application_id: str, body: InspectionResult, principal: Province, request: Request
                         ) -> Inspection:
        cand = await candidate(application_id)
        await open_round(cand.round_id)
        record = Inspection(application_id=application_id, passed=body.passed, notes=body.notes, at=clock())
        await put(repo.inspections, application_id, record, _audit(
            principal, request, "inspection.record", application_id, cand.round_id, reason=body.notes,
            outcome="通过" if body.passed else "未通过"))
        return record

    @api.post("/rounds/{round_id}/overrides/{application_id}", summary="Override one proposed decision",
              responses=errors(404, 409))
    async def override(round_id: str, application_id: str, body: OverrideRequest, principal: Province,
                       request: Request) -> Override:
        await open_round(round_id)
        if (await candidate(application_id)).round_id != round_id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"申报 {application_id} 不属于批次 {round_id}")
        record = Override(application_id=application_id, decision=body.decision,
                          justification=body.justification, at=clock())
        await put(repo.overrides, application_id, record, _audit(
            principal, request, "decision.override", application_id, round_id, reason=body.justification,
            outcome=body.decision.value))
        return record

    @api.get("/rounds/{round_id}/proposal", summary="The proposed decision list, ranked, with what is missing")
    async def proposal(round_id: str, _: Province) -> dict[str, Any]:
        settings, standings = await round_standings(repo, round_id)
        by_id = {s.candidate.id: s for s in standings}
        proposed = propose(settings, standings)
        overrides = await repo.overrides.many(p.application_id for p in proposed)
        items = []
        for p in proposed:
            o = overrides.get(p.application_id)
            cand = by_id[p.application_id].candidate
            decision = o.decision if o else p.decision
            items.append({"application_id": p.application_id, "platform_name": cand.platform_name,
                          "applicant_name": cand.applicant_name, "city_code": cand.city_code,
                          "score": p.score, "rank": p.rank, "proposed": p.decision, "reason": p.reason,
                          "decision": decision, "label": DECISION_LABELS[decision],
                          "override": o.justification if o else None})
        incomplete = [{"application_id": s.candidate.id, "missing": s.missing} for s in standings if s.missing]
        state = await repo.rounds.get(round_id)
        return {"settings": settings, "items": items, "incomplete": incomplete,
                "confirmed_at": state.confirmed_at if state else None}

    @api.post("/rounds/{round_id}/confirm", summary="Confirm the decision list: pilot.review.decided for each",
              responses=errors(409))
    async def confirm(round_id: str, principal: Province, request: Request) -> dict[str, Any]:
        settings, standings = await round_standings(repo, round_id)
        missing = [f"{s.candidate.id}（{s.missing}）" for s in standings if s.missing]
        if missing:
            raise _refused("以下申报尚未完成评审，不能确认：" + "；".join(missing))
        if not standings:
            raise _refused("本批次没有可确认的评审结果")
        by_id = {s.candidate.id: s for s in standings}
        now = clock()
        proposed = propose(settings, standings)
        overrides = await repo.overrides.many(p.application_id for p in proposed)
        events: list[Event] = []
        for p in proposed:
            o = overrides.get(p.application_id)
            s = by_id[p.application_id]
            totals = {sheet.expert_id: sheet.total for sheet in s.sheets}
            events.append(ReviewDecided(
                application_id=p.application_id, round_id=round_id, decision=o.decision if o else p.decision,
                score=p.score, rank=p.rank, rubric_version=settings.rubric.version,
                aggregation=settings.aggregation.value,
                panel=[PanelMember(expert_id=e, total=totals.get(e)) for e in (s.panel.experts if s.panel else [])],
                overridden=o is not None, justification=o.justification if o else p.reason,
                platform_name=s.candidate.platform_name, applicant_name=s.candidate.applicant_name,
                applicant_credit_code=s.candidate.applicant_credit_code, region_code=s.candidate.region_code,
                city_code=s.candidate.city_code, decided_at=now))

        async def work(session: Session) -> list[Event]:
            if not await repo.rounds.add(round_id, RoundState(round_id=round_id, confirmed_at=now), session):
                raise _refused("本批次评审结果已确认")
            return events

        audit = Audit.request(principal, request, "decision.confirm", "round", round_id, round_id=round_id,
                              outcome=f"确认 {len(events)} 项")
        audit.touches(e.application_id for e in events)
        await uow.run(work, audit=audit)
        return {"confirmed": len(events), "confirmed_at": now}

    return api
