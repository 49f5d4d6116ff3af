"""The notices each event causes, pure: who is told (the applicant, the officials whose queue it enters or
leaves, the cities of a round) and the facts their templates are filled with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zhongshi_contracts.events import (
    ApplicationScreened,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    Event,
    ScreeningOutcome,
)
from zhongshi_contracts.recommendation import (
    ApplicationExceptionDecided,
    ApplicationForwarded,
    ApplicationRecommended,
    ApplicationRejected,
    ApplicationReturned,
    ChainStep,
    RoundScheduled,
)
from zhongshi_contracts.registry import PlatformAccredited, PlatformCultivationListed
from zhongshi_contracts.review import DECISION_LABELS, AssignmentDeclined, Decision, PanelDrawn, ReviewDecided

from zhongshi_notify.domain import (
    PROVINCE,
    STAGE_LABELS,
    Audience,
    Case,
    Deadlines,
    Notice,
    Stage,
    advance,
    applicant_and_platform,
    changed_stage,
    cn_date,
    deadline_text,
    department,
    holder,
    province_administered,
    region_of,
    scope_name,
)
from zhongshi_notify.registry_notices import NOTIFIED as NOTIFIED_BY_REGISTRY
from zhongshi_notify.registry_notices import registry_notices
from zhongshi_notify.tracking import Platform

OUTCOME_TEXT = {
    ScreeningOutcome.ELIGIBLE: "已通过形式审查，进入县级初审。",
    ScreeningOutcome.NEEDS_EXCEPTION: "已通过形式审查，部分“原则上”条件（{flagged}）待省经信厅认定，进入县级初审。",
    ScreeningOutcome.INELIGIBLE: "未通过形式审查（不符合：{failing}），已退回修改，请在申报期内修改后重新提交。",
}


def facts(event: Event, case: Case | None) -> dict[str, str]:
    """What every template of this event may say: the application, its names, the department's opinion."""
    applicant, platform = applicant_and_platform(event, case)
    said: dict[str, str] = {"application_id": event.application_id, "round_id": event.round_id,
                            "applicant_name": applicant, "platform_name": platform}
    region = region_of(event)
    if region:
        said |= {"region_name": scope_name(region), "city_name": scope_name(getattr(event, "city_code", region))}
    if isinstance(event, ChainStep):
        said |= {"department": department(event.actor.region_code), "opinion": event.opinion}
    return said


def notices(event: Event, before: Case | None, deadlines: Deadlines, outcome: Platform | None = None) -> list[Notice]:
    """Everyone ``event`` concerns: the applicant, the officials whose queue it enters or leaves, the experts
    drawn; for publicity and registry events, those `registry_notices` names (``outcome``: what notify knows
    of the application concerned)."""
    builder = _BUILDERS.get(type(event))
    if builder is None:
        return registry_notices(event, outcome)
    stepped = changed_stage(before, advance(before, event))
    return builder(event, facts(event, before), before if stepped else None, stepped, deadlines)


def _applicant(event: Event, kind: str, base: dict[str, str], **more: str) -> Notice:
    code = (event.dossier.applicant.credit_code if isinstance(event, ApplicationSubmitted)
            else str(getattr(event, "applicant_credit_code", "")))
    return Notice(template=f"{kind}.applicant", recipient=code, audience=Audience.APPLICANT,
                  facts=base | more)


def _official(kind: str, scope: str, base: dict[str, str], **more: str) -> Notice:
    return Notice(template=kind, recipient=scope, audience=Audience.OFFICIAL, facts=base | more)


def _expert(kind: str, expert_id: str, base: dict[str, str], **more: str) -> Notice:
    return Notice(template=kind, recipient=expert_id, audience=Audience.EXPERT, facts=base | more)


Builder = Callable[[Any, dict[str, str], Case | None, bool, Deadlines], list[Notice]]


def _submitted(e: ApplicationSubmitted, base: dict[str, str], _b: Case | None, _m: bool, _d: Deadlines) -> list[Notice]:
    return [_applicant(e, "application.submitted", base, revision=str(e.revision))]


def _screened(e: ApplicationScreened, base: dict[str, str], _b: Case | None, moved: bool,
              deadlines: Deadlines) -> list[Notice]:
    outcome = OUTCOME_TEXT[e.outcome].format(failing="、".join(e.failing), flagged="、".join(e.flagged))
    said = [_applicant(e, "application.screened", base, outcome=outcome)]
    if moved and e.outcome is not ScreeningOutcome.INELIGIBLE:
        flags = f"（{'、'.join(e.flagged)}“原则上”条件待省经信厅例外认定）" if e.flagged else ""
        said.append(_official("application.screened.county", e.region_code, base, flag_note=flags,
                              deadline=deadline_text(deadlines, Stage.COUNTY_REVIEW)))
    return said


def _withdrawn(e: ApplicationWithdrawn, base: dict[str, str], before: Case | None, _m: bool,
               _d: Deadlines) -> list[Notice]:
    said = [_applicant(e, "application.withdrawn", base, reason=e.reason or "未说明")]
    queue = holder(before.stage, before.region_code, before.city_code) if before else None
    if before and queue:
        said.append(_official("application.withdrawn.official", queue, base, stage=STAGE_LABELS[before.stage],
                              reason=e.reason or "未说明"))
    return said


def _recommended(e: ApplicationRecommended, base: dict[str, str], _b: Case | None, moved: bool,
                 deadlines: Deadlines) -> list[Notice]:
    said = [_applicant(e, "application.recommended", base)]
    if moved and not province_administered(e.region_code):  # a unit's own forward follows at once
        said.append(_official("application.recommended.city", e.city_code, base,
                              deadline=deadline_text(deadlines, Stage.CITY_REVIEW)))
    return said


def _returned(e: ApplicationReturned, base: dict[str, str], *_: Any) -> list[Notice]:
    return [_applicant(e, "application.returned", base)]


def _rejected(e: ApplicationRejected, base: dict[str, str], *_: Any) -> list[Notice]:
    return [_applicant(e, "application.rejected", base)]


def _forwarded(e: ApplicationForwarded, base: dict[str, str], _b: Case | None, moved: bool,
               deadlines: Deadlines) -> list[Notice]:
    if e.flagged:
        step = (f"省经信厅对“原则上”条件（{'、'.join(e.flagged)}）进行例外认定，"
                f"请于{deadline_text(deadlines, Stage.EXCEPTION_REVIEW)}前作出认定")
    else:
        step = "进入专家评审"
    more = {"next_step": step, "priority": str(e.priority), "quota": str(e.quota)}
    said = [_applicant(e, "application.forwarded", base, **more)]
    if moved:
        said.append(_official("application.forwarded.province", PROVINCE, base, **more))
    return said


def _exception_decided(e: ApplicationExceptionDecided, base: dict[str, str], *_: Any) -> list[Notice]:
    more = {"clauses": "、".join(e.clauses) or "无", "decision": "同意" if e.approved else "不同意",
            "next_step": "申报进入专家评审" if e.approved else "本批次申报办理结束"}
    return [_applicant(e, "application.exception-decided", base, **more),
            _official("application.exception-decided.city", e.city_code, base, **more)]


def _round_scheduled(e: RoundScheduled, _base: dict[str, str], *_: Any) -> list[Notice]:
    stages = [s for s in (Stage.COUNTY_REVIEW, Stage.CITY_REVIEW, Stage.EXCEPTION_REVIEW) if s in e.deadlines]
    listed = "；".join(f"{STAGE_LABELS[s]}截止{cn_date(e.deadlines[s])}" for s in stages) or "办理时限另行通知"
    return [_official("round.scheduled.city", city, {"round_id": e.round_id, "city_name": scope_name(city),
                      "quota": str(quota), "deadlines": listed})
            for city, quota in sorted(e.quotas.items())]


def _panel_drawn(e: PanelDrawn, base: dict[str, str], *_: Any) -> list[Notice]:
    """Each drawn expert (addressed by expert id; the applicant is not told who judges it)."""
    score_by = cn_date(e.score_by) if e.score_by else "评审通知规定的期限"
    told = e.topped_up or e.experts  # a top-up tells only the experts it added
    return [_expert("review.panel-drawn.expert", expert, base, score_by=score_by,
                    lead="（您为评审组组长）" if expert == e.experts[0] else "") for expert in told]


def _assignment_declined(e: AssignmentDeclined, base: dict[str, str], *_: Any) -> list[Notice]:
    """The expert drawn in place of one who declined; without a replacement the province must act."""
    if e.replacement:
        return [_expert("review.assignment-declined.expert", e.replacement, base)]
    return [_official("review.assignment-declined.province", PROVINCE, base, expert_id=e.expert_id)]


_NEXT_AFTER_DECISION = {
    Decision.ACCREDIT: "省经信厅将按程序进行公示，公示无异议后正式认定并颁发证书",
    Decision.CULTIVATE: "省经信厅将按程序进行公示，公示无异议后列为培育对象",
    Decision.DECLINE: "本批次申报办理结束，欢迎在后续批次再次申报",
}


def _decided(e: ReviewDecided, base: dict[str, str], *_: Any) -> list[Notice]:
    score = f"综合得分{e.score}，排名第{e.rank}。" if e.rank else ""
    return [_applicant(e, "review.decided", base | {"applicant_name": e.applicant_name,
                                                     "platform_name": e.platform_name},
                       decision=DECISION_LABELS[e.decision], score=score, next_step=_NEXT_AFTER_DECISION[e.decision])]


def _accredited(e: PlatformAccredited, base: dict[str, str], *_: Any) -> list[Notice]:
    names = {"applicant_name": e.applicant_name, "platform_name": e.platform_name}
    return [_applicant(e, "platform.accredited", base | names, certificate_no=e.certificate_no,
                       accredited_on=cn_date(e.accredited_on))]


def _cultivation_listed(e: PlatformCultivationListed, base: dict[str, str], *_: Any) -> list[Notice]:
    names = {"applicant_name": e.applicant_name, "platform_name": e.platform_name}
    return [_applicant(e, "platform.cultivation-listed", base | names, listed_on=cn_date(e.listed_on))]


_BUILDERS: dict[type[Event], Builder] = {
    ApplicationSubmitted: _submitted, ApplicationScreened: _screened, ApplicationWithdrawn: _withdrawn,
    ApplicationRecommended: _recommended, ApplicationReturned: _returned, ApplicationRejected: _rejected,
    ApplicationForwarded: _forwarded, ApplicationExceptionDecided: _exception_decided,
    RoundScheduled: _round_scheduled, PanelDrawn: _panel_drawn, AssignmentDeclined: _assignment_declined,
    ReviewDecided: _decided, PlatformAccredited: _accredited, PlatformCultivationListed: _cultivation_listed,
}
NOTIFIED_EVENTS: tuple[type[Event], ...] = (*_BUILDERS, *NOTIFIED_BY_REGISTRY)
