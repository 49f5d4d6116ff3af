"""Who is told what, pure: where an application stands, the notices each event causes, and what they say.

No I/O here: the handlers load the case, the round's deadlines and the addresses, call these functions
and store what they return (see `planning.py` for channels and deliveries).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
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
from zhongshi_contracts.reference import hubei_cities, hubei_counties

PROVINCE = "42"  # the province's scope: its officials' inbox recipient


class Stage(StrEnum):
    """Where an application stands, as notify follows it from the events."""

    SUBMITTED = "submitted"
    SCREENED_OUT = "screened_out"
    COUNTY_REVIEW = "county_review"
    CITY_REVIEW = "city_review"
    EXCEPTION_REVIEW = "exception_review"
    EXPERT_REVIEW = "expert_review"
    RETURNED = "returned"
    REJECTED = "rejected"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


STAGE_LABELS = {
    Stage.SUBMITTED: "形式审查", Stage.SCREENED_OUT: "形式审查未通过", Stage.COUNTY_REVIEW: "县级初审",
    Stage.CITY_REVIEW: "市州推荐", Stage.EXCEPTION_REVIEW: "省级例外认定", Stage.EXPERT_REVIEW: "专家评审",
    Stage.RETURNED: "退回修改", Stage.REJECTED: "不予推荐", Stage.DECLINED: "例外认定未通过", Stage.WITHDRAWN: "已撤回",
}
QUEUE_STAGES = (Stage.COUNTY_REVIEW, Stage.CITY_REVIEW, Stage.EXCEPTION_REVIEW)  # an official must act
_FINISHED = (Stage.SCREENED_OUT, Stage.RETURNED, Stage.REJECTED, Stage.DECLINED)
_RANK = {Stage.SUBMITTED: 0, Stage.COUNTY_REVIEW: 1, Stage.CITY_REVIEW: 2, Stage.EXCEPTION_REVIEW: 3,
         Stage.EXPERT_REVIEW: 4, **dict.fromkeys(_FINISHED, 5), Stage.WITHDRAWN: 6}


class Case(BaseModel):
    """One application as notify follows it: its current submission and stage, and where it comes from."""

    model_config = ConfigDict(frozen=True)

    application_id: str
    round_id: str
    revision: int
    stage: Stage
    region_code: str
    city_code: str
    applicant_name: str = ""
    platform_name: str = ""


class RoundSchedule(BaseModel):
    """A round's stage deadlines (last days, Asia/Shanghai) as the latest `RoundScheduled` set them."""

    model_config = ConfigDict(frozen=True)

    round_id: str
    deadlines: dict[str, date]
    scheduled_at: datetime


class Audience(StrEnum):
    APPLICANT = "applicant"  # addressed by credit code; e-mail and phone from the dossier's contact
    OFFICIAL = "official"  # addressed by scope; e-mail and phone from the operator's directory


class Notice(BaseModel):
    """One message to one recipient: which template, and the facts it is filled with."""

    model_config = ConfigDict(frozen=True)

    template: str
    recipient: str
    audience: Audience
    facts: dict[str, str]


def holder(stage: Stage, region_code: str, city_code: str) -> str | None:
    """Whose queue an application in ``stage`` sits in: a county, a city or the province (None: nobody's)."""
    return {Stage.COUNTY_REVIEW: region_code, Stage.CITY_REVIEW: city_code,
            Stage.EXCEPTION_REVIEW: PROVINCE}.get(stage)


def above(stage: Stage, region_code: str, city_code: str) -> str:
    """Who is told when ``stage`` is overdue: the level above (county → city → province; the top is told itself)."""
    if stage is Stage.COUNTY_REVIEW and not province_administered(region_code):
        return city_code
    return PROVINCE


def province_administered(region_code: str) -> bool:
    county = hubei_counties().get(region_code)
    return county is not None and county.province_administered


def scope_name(code: str) -> str:
    """A region's name: 湖北省, 武汉市, 武汉市江岸区, 仙桃市 (the code itself when unknown)."""
    if code == PROVINCE:
        return "湖北省"
    county = hubei_counties().get(code)
    if county is not None:
        return county.name if county.province_administered else county.city_name + county.name
    return hubei_cities().get(code, code)


def department(code: str) -> str:
    """The department acting for a scope: 省经信厅 or <region>经信部门."""
    return "省经信厅" if code == PROVINCE else f"{scope_name(code)}经信部门"


def cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def deadline_text(deadlines: Mapping[str, date], stage: Stage) -> str:
    day = deadlines.get(stage.value)
    return cn_date(day) if day else "批次规定期限"


# ---- where the application stands -------------------------------------------------------------------


def _stage_after(event: Event) -> Stage | None:
    match event:
        case ApplicationSubmitted():
            return Stage.SUBMITTED
        case ApplicationScreened():
            return Stage.SCREENED_OUT if event.outcome is ScreeningOutcome.INELIGIBLE else Stage.COUNTY_REVIEW
        case ApplicationRecommended():
            return Stage.CITY_REVIEW
        case ApplicationForwarded():
            return Stage.EXCEPTION_REVIEW if event.flagged else Stage.EXPERT_REVIEW
        case ApplicationExceptionDecided():
            return Stage.EXPERT_REVIEW if event.approved else Stage.DECLINED
        case ApplicationReturned():
            return Stage.RETURNED
        case ApplicationRejected():
            return Stage.REJECTED
        case ApplicationWithdrawn():
            return Stage.WITHDRAWN
    return None


def advance(case: Case | None, event: Event) -> Case | None:
    """The case after ``event``: only forward within a submission (events on different topics may arrive
    in any order), and a newer submission starts again."""
    stage = _stage_after(event)
    revision = getattr(event, "revision", 0)
    if stage is None:
        return case
    if case is not None and (revision, _RANK[stage]) <= (case.revision, _RANK[case.stage]):
        return case
    names = _names(event, case)
    return Case(application_id=event.application_id, round_id=event.round_id, revision=revision, stage=stage,
                region_code=_region(event), city_code=getattr(event, "city_code", ""),
                applicant_name=names[0], platform_name=names[1])


def _region(event: Event) -> str:
    if isinstance(event, ApplicationSubmitted):
        return event.dossier.applicant.region_code
    return str(getattr(event, "region_code", ""))


def _names(event: Event, case: Case | None) -> tuple[str, str]:
    if isinstance(event, ApplicationSubmitted):
        return event.dossier.applicant.name, event.dossier.platform.name
    if isinstance(event, ApplicationScreened | ChainStep):
        return event.applicant_name, event.platform_name
    return (case.applicant_name, case.platform_name) if case else ("申报主体", event.application_id)


# ---- the notices each event causes ------------------------------------------------------------------

OUTCOME_TEXT = {
    ScreeningOutcome.ELIGIBLE: "已通过形式审查，进入县级初审。",
    ScreeningOutcome.NEEDS_EXCEPTION: "已通过形式审查，部分“原则上”条件（{flagged}）待省经信厅认定，进入县级初审。",
    ScreeningOutcome.INELIGIBLE: "未通过形式审查（不符合：{failing}），已退回修改，请在申报期内修改后重新提交。",
}

Deadlines = Mapping[str, date]


def facts(event: Event, case: Case | None) -> dict[str, str]:
    """What every template of this event may say: the application, its names, the department's opinion."""
    applicant, platform = _names(event, case)
    said: dict[str, str] = {"application_id": event.application_id, "round_id": event.round_id,
                            "applicant_name": applicant, "platform_name": platform}
    region = _region(event)
    if region:
        said |= {"region_name": scope_name(region), "city_name": scope_name(getattr(event, "city_code", region))}
    if isinstance(event, ChainStep):
        said |= {"department": department(event.actor.region_code), "opinion": event.opinion}
    return said


def notices(event: Event, before: Case | None, deadlines: Deadlines) -> list[Notice]:
    """Everyone ``event`` concerns: the applicant, and the officials whose queue it enters or leaves."""
    after = advance(before, event)
    moved = after is not None and after != before
    base = facts(event, before)
    builder = _BUILDERS.get(type(event))
    return builder(event, base, before if moved else None, moved, deadlines) if builder else []


def _applicant(event: Event, kind: str, base: dict[str, str], **more: str) -> Notice:
    code = (event.dossier.applicant.credit_code if isinstance(event, ApplicationSubmitted)
            else str(getattr(event, "applicant_credit_code", "")))
    return Notice(template=f"{kind}.applicant", recipient=code, audience=Audience.APPLICANT,
                  facts=base | more)


def _official(kind: str, scope: str, base: dict[str, str], **more: str) -> Notice:
    return Notice(template=kind, recipient=scope, audience=Audience.OFFICIAL, facts=base | more)


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


_BUILDERS: dict[type[Event], Builder] = {
    ApplicationSubmitted: _submitted, ApplicationScreened: _screened, ApplicationWithdrawn: _withdrawn,
    ApplicationRecommended: _recommended, ApplicationReturned: _returned, ApplicationRejected: _rejected,
    ApplicationForwarded: _forwarded, ApplicationExceptionDecided: _exception_decided,
    RoundScheduled: _round_scheduled,
}
NOTIFIED_EVENTS: tuple[type[Event], ...] = tuple(_BUILDERS)


def schedule(current: RoundSchedule | None, event: RoundScheduled) -> RoundSchedule:
    """The round's deadlines after ``event``: only a later schedule replaces them (redeliveries come late)."""
    if current is not None and event.scheduled_at < current.scheduled_at:
        return current
    return RoundSchedule(round_id=event.round_id, deadlines=dict(event.deadlines), scheduled_at=event.scheduled_at)
