"""The province's side of review: a panel with its sheets, the on-site inspection (现场核查), overrides of a
proposed decision, the round's proposed decision list and its confirmation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from zhongshi_contracts.events import Event
from zhongshi_contracts.review import DECISION_LABELS, Decision, PanelMember, ReviewDecided
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.errors import NotFound
from zhongshi_runtime.outbox import Outcome, Session

from zhongshi_review.domain import Proposal
from zhongshi_review.progress import Standing, propose, round_standings, standing
from zhongshi_review.records import Inspection, Override, RoundState
from zhongshi_review.rubric import RoundConfig
from zhongshi_review.service import Deps, ReviewRefused, candidate, open_round, still_open


async def read_panel(deps: Deps, application_id: str) -> dict[str, Any]:
    """A panel with every score sheet, what is missing and the score."""
    cand = await candidate(deps, application_id)
    state = await standing(deps.repo, cand, await deps.repo.round_config(cand.round_id))
    if state.panel is None:
        raise NotFound("尚未抽取评审组")
    return {"panel": state.panel, "sheets": state.sheets, "missing": state.missing,
            "score": state.scoring.score if state.scoring else None}


async def record_inspection(deps: Deps, application_id: str, passed: bool, notes: str, audit: Audit
                            ) -> Inspection:
    cand = await candidate(deps, application_id)
    await open_round(deps, cand.round_id)
    record = Inspection(application_id=application_id, passed=passed, notes=notes, at=deps.clock())

    async def work(session: Session) -> list[Event]:
        await still_open(deps, cand.round_id, application_id, session)
        await deps.repo.save_inspection(record, session)
        return []

    audit.round_id, audit.reason, audit.outcome = cand.round_id, notes, "通过" if passed else "未通过"
    await deps.uow.run(work, audit=audit)
    return record


async def override(deps: Deps, round_id: str, application_id: str, decision: Decision, justification: str,
                   audit: Audit) -> Override:
    """Override one proposed decision of a round still open."""
    if (await candidate(deps, application_id)).round_id != round_id:
        raise NotFound(f"申报 {application_id} 不属于批次 {round_id}")
    record = Override(application_id=application_id, decision=decision, justification=justification,
                      at=deps.clock())

    async def work(session: Session) -> list[Event]:
        await still_open(deps, round_id, application_id, session)
        await deps.repo.save_override(record, session)
        return []

    audit.reason, audit.outcome = justification, decision.value
    await deps.uow.run(work, audit=audit)
    return record


async def proposal(deps: Deps, round_id: str) -> dict[str, Any]:
    """The proposed decision list, ranked, with overrides and what is missing."""
    settings, standings = await round_standings(deps.repo, round_id)
    by_id = {s.candidate.id: s for s in standings}
    proposed = propose(settings, standings)
    overrides = await deps.repo.overrides_by_id(p.application_id for p in proposed)
    items = []
    for p in proposed:
        o, cand = overrides.get(p.application_id), by_id[p.application_id].candidate
        decision = o.decision if o else p.decision
        items.append({"application_id": p.application_id, "platform_name": cand.platform_name,
                      "applicant_name": cand.applicant_name, "city_code": cand.city_code,
                      "score": p.score, "rank": p.rank, "proposed": p.decision, "reason": p.reason,
                      "decision": decision, "label": DECISION_LABELS[decision],
                      "override": o.justification if o else None})
    incomplete = [{"application_id": s.candidate.id, "missing": s.missing} for s in standings if s.missing]
    state = await deps.repo.round_state(round_id)
    return {"settings": settings, "items": items, "incomplete": incomplete,
            "confirmed_at": state.confirmed_at if state else None}


def _decided(p: Proposal, s: Standing, o: Override | None, settings: RoundConfig, round_id: str, now: datetime,
             in_round: int) -> ReviewDecided:
    totals = {sheet.expert_id: sheet.total for sheet in s.sheets}
    return ReviewDecided(
        application_id=p.application_id, round_id=round_id, decision=o.decision if o else p.decision,
        score=p.score, rank=p.rank, rubric_version=settings.rubric.version, aggregation=settings.aggregation.value,
        accreditation_line=settings.accreditation_line, cultivation_line=settings.cultivation_line,
        quota=settings.quota, decided_in_round=in_round,
        panel=[PanelMember(expert_id=e, total=totals.get(e)) for e in (s.panel.experts if s.panel else [])],
        overridden=o is not None, justification=o.justification if o else p.reason,
        platform_name=s.candidate.platform_name, applicant_name=s.candidate.applicant_name,
        applicant_credit_code=s.candidate.applicant_credit_code, region_code=s.candidate.region_code,
        city_code=s.candidate.city_code, decided_at=now)


async def decisions(deps: Deps, round_id: str, now: datetime) -> list[ReviewDecided]:
    """The round's decision list as it stands: refused while a candidate's review is unfinished, or while one
    still waits for the province's exception decision (approved later, it would find the round closed)."""
    settings, standings = await round_standings(deps.repo, round_id)
    missing = [f"{s.candidate.id}（{s.missing}）" for s in standings if s.missing]
    if missing:
        raise ReviewRefused("以下申报尚未完成评审，不能确认：" + "；".join(missing))
    if waiting := await deps.repo.awaiting_exception(round_id):
        raise ReviewRefused("以下申报尚待省级例外认定，不能确认：" + "、".join(c.id for c in waiting))
    if not standings:
        raise ReviewRefused("本批次没有可确认的评审结果")
    by_id = {s.candidate.id: s for s in standings}
    proposed = propose(settings, standings)
    overrides = await deps.repo.overrides_by_id(p.application_id for p in proposed)
    return [_decided(p, by_id[p.application_id], overrides.get(p.application_id), settings, round_id, now,
                     len(proposed)) for p in proposed]


async def confirm(deps: Deps, round_id: str, audit: Audit) -> tuple[int, datetime]:
    """Confirm the round's decision list: pilot.review.decided for each candidate; how many, and when. The list
    is read once every candidate's turn is taken (`still_open`): a score, decline, inspection or override
    committed before is in it, and one trying to commit meanwhile waits and then finds the round confirmed."""
    now = deps.clock()

    async def work(session: Session) -> Outcome[list[ReviewDecided]]:
        await deps.repo.take_turns(await deps.repo.candidate_ids(round_id), session)
        events = await decisions(deps, round_id, now)
        if not await deps.repo.confirm_round(RoundState(round_id=round_id, confirmed_at=now), session):
            raise ReviewRefused("本批次评审结果已确认")
        audit.outcome = f"确认 {len(events)} 项"
        audit.touches(e.application_id for e in events)
        return Outcome(events, events)

    events: list[ReviewDecided] = await deps.uow.run(work, audit=audit)
    for event in events:
        deps.metrics.decisions.labels(event.decision.value).inc()
    return len(events), now
