"""The experts' side of review: their assignments, score sheets against the rubric, declines (回避) with the
redraw they cause, and the lead's note on diverging scores."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from zhongshi_contracts.events import Event
from zhongshi_contracts.review import AssignmentDeclined, Scored
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.clock import shanghai_date
from zhongshi_runtime.outbox import Outcome, Session
from zhongshi_runtime.preconditions import expect

from zhongshi_review.domain import ScoreProblem, check_sheet, divergent, weighted_total, without_member
from zhongshi_review.progress import standing
from zhongshi_review.records import Panel, ScoreSheet, ScoringStarted
from zhongshi_review.rubric import Rubric
from zhongshi_review.service import (
    Deps,
    NotLead,
    ReviewRefused,
    candidate,
    draw_rules_of,
    my_panel,
    open_round,
    still_open,
)


class Sheet(BaseModel):
    scores: dict[str, int]
    comments: dict[str, str] = Field(default_factory=dict)
    overall_comment: str = Field("", max_length=4000)


async def assignments(deps: Deps, expert_id: str) -> list[dict[str, Any]]:
    """The expert's panels, with whether each is scored."""
    panels = await deps.repo.panels_of(expert_id)
    cands = await deps.repo.candidates_by_id(p.application_id for p in panels)
    sheets = await deps.repo.sheets((p.application_id, expert_id) for p in panels)
    return [{"application_id": cand.id, "round_id": cand.round_id, "platform_name": cand.platform_name,
             "applicant_name": cand.applicant_name, "lead": panel.lead == expert_id,
             "scored": (cand.id, expert_id) in sheets, "score_by": panel.score_by}
            for panel in panels if (cand := cands.get(panel.application_id))]


async def assignment(deps: Deps, panel: Panel, expert_id: str) -> dict[str, Any]:
    """What the expert reviews: the dossier, the screening report, the opinions, the rubric and the sheets."""
    cand = await candidate(deps, panel.application_id)
    settings = await deps.repo.round_config(cand.round_id)
    state = await standing(deps.repo, cand, settings)
    closed = len(state.sheets) == len(panel.experts)  # others' scores only once everyone has scored
    return {
        "application_id": cand.id, "platform_name": cand.platform_name, "dossier": cand.dossier,
        "screening_report": cand.clauses, "opinions": cand.opinions, "rubric": settings.rubric,
        "lead": panel.lead == expert_id,
        "my_sheet": next((s for s in state.sheets if s.expert_id == expert_id), None),
        "scoring_closed": closed, "panel_sheets": state.sheets if closed else None, "missing": state.missing,
    }


async def _pin_rubric(deps: Deps, round_id: str, rubric: Rubric, session: Session) -> None:
    """Fix the round's rubric with its first sheet; refuse a sheet checked against a rubric changed since.
    Only the first sheet writes: it rewrites the settings, so a settings change racing it conflicts and one
    of the two retries; later sheets only read (a rubric change is refused once the mark exists)."""
    settings = await deps.repo.round_config(round_id, session)
    if settings.rubric != rubric:
        raise ReviewRefused("本批次评分标准刚刚更新，请刷新后按新标准评分")
    if await deps.repo.scoring_started_in(round_id, session) is None:
        await deps.repo.save_round_config(settings, session)
        await deps.repo.mark_scoring_started(ScoringStarted(round_id=round_id, rubric_version=rubric.version,
                                                              at=deps.clock()), session)


def _checked(rubric: Rubric, sheet: Sheet) -> None:
    """422 naming the criterion a sheet gets wrong."""
    try:
        check_sheet(rubric, sheet.scores, sheet.comments)
    except ScoreProblem as exc:
        raise RequestValidationError([{"loc": ("body", "scores", exc.field), "msg": str(exc),
                                       "type": "value_error"}]) from None


async def score(deps: Deps, application_id: str, expert_id: str, sheet: Sheet, audit: Audit) -> ScoreSheet:
    """Score an assignment against the round's rubric, once."""
    panel = await my_panel(deps, application_id, expert_id)
    await open_round(deps, panel.round_id)
    rubric = (await deps.repo.round_config(panel.round_id)).rubric
    _checked(rubric, sheet)
    record = ScoreSheet(application_id=application_id, panel_id=panel.panel_id, expert_id=expert_id,
                        rubric_version=rubric.version, scores=sheet.scores, comments=sheet.comments,
                        overall_comment=sheet.overall_comment, total=weighted_total(rubric, sheet.scores),
                        scored_at=deps.clock())

    async def work(session: Session) -> list[Event]:
        await still_open(deps, panel.round_id, application_id, session)
        await _pin_rubric(deps, panel.round_id, rubric, session)
        if not await deps.repo.add_sheet(record, session):
            raise ReviewRefused("您已对该申报评分，不能重复提交")
        return [Scored(application_id=application_id, round_id=panel.round_id, panel_id=panel.panel_id,
                       expert_id=expert_id, rubric_version=rubric.version, total=record.total,
                       scores=record.scores, scored_at=record.scored_at)]

    audit.round_id, audit.reason, audit.outcome = panel.round_id, sheet.overall_comment, str(record.total)
    await deps.uow.run(work, audit=audit)
    deps.metrics.sheets.inc()
    return record


async def decline(deps: Deps, application_id: str, expert_id: str, reason: str, if_match: str | None,
                  audit: Audit) -> str | None:
    """Decline an assignment, declaring a conflict; a replacement is drawn when one qualifies (returned)."""
    panel = await my_panel(deps, application_id, expert_id)
    await open_round(deps, panel.round_id)
    if await deps.repo.sheet(application_id, expert_id):
        raise ReviewRefused("已评分的任务不能回避")
    cand = await candidate(deps, application_id)
    rules, pool = await draw_rules_of(deps, cand.round_id), await deps.repo.pool()

    async def work(session: Session) -> Outcome[str | None]:
        """The panel is read and written in one transaction, over its version: no decline is undone."""
        await still_open(deps, panel.round_id, application_id, session)
        current = await deps.repo.panel(application_id, session)
        if current is None or expert_id not in current.experts:
            raise ReviewRefused("该任务已回避")
        expect(if_match, application_id, current.version)
        now = deps.clock()
        updated, replacement = without_member(current, expert_id, reason, pool, cand, rules, now,
                                              shanghai_date(now))
        await deps.repo.update_panel(updated, session)
        audit.outcome = f"补抽 {replacement}" if replacement else "待补充"
        return Outcome(replacement, [AssignmentDeclined(
            application_id=application_id, round_id=panel.round_id, panel_id=panel.panel_id, expert_id=expert_id,
            reason=reason, replacement=replacement, declined_at=now)])

    audit.round_id, audit.reason = panel.round_id, reason
    replacement = await deps.uow.run(work, audit=audit)
    deps.metrics.declines.inc()
    return replacement


async def diverging(deps: Deps, panel: Panel) -> None:
    """Refused unless every member scored and the totals diverge beyond the round's threshold: a note written
    before would stand for a divergence nobody had seen."""
    threshold = (await deps.repo.round_config(panel.round_id)).divergence_threshold
    sheets = await deps.repo.sheets((panel.application_id, e) for e in panel.experts)
    if len(sheets) < len(panel.experts) or not divergent([s.total for s in sheets.values()], threshold):
        raise ReviewRefused("评审组尚未全部评分，或评分分歧未超过阈值，无需出具协调意见")


async def reconcile(deps: Deps, application_id: str, expert_id: str, note: str, if_match: str | None,
                    audit: Audit) -> Panel:
    """The lead's note on diverging scores."""
    panel = await my_panel(deps, application_id, expert_id)
    expect(if_match, application_id, panel.version)
    await open_round(deps, panel.round_id)
    if panel.lead != expert_id:
        raise NotLead("仅评审组组长可出具协调意见")

    async def work(session: Session) -> Outcome[Panel]:
        await still_open(deps, panel.round_id, application_id, session)  # a score or the confirmation at once
        await diverging(deps, panel)
        noted = panel.model_copy(update={"reconciliation": note})
        return Outcome(await deps.repo.update_panel(noted, session))  # a decline since: StaleWrite

    audit.round_id, audit.reason = panel.round_id, note
    return await deps.uow.run(work, audit=audit)
