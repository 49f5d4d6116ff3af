"""Notify's domain, pure: where an application stands (followed from the events), whose queue holds it,
who is above whom, and the names and dates messages use.

No I/O here or in its siblings: `notices.py` decides who is told what, `planning.py` on which channels,
`reminders.py` when deadlines call for a reminder or escalation; the handlers load and store.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from zhongshi_contracts import lifecycle
from zhongshi_contracts.events import (
    ApplicationScreened,
    ApplicationSubmitted,
    Event,
)
from zhongshi_contracts.recommendation import (
    ChainStep,
    RoundScheduled,
)
from zhongshi_contracts.reference import hubei_cities, hubei_counties

PROVINCE = "42"  # the province's scope: its officials' inbox recipient


Stage = lifecycle.Stage  # notify follows a case through the chain (`lifecycle.CHAIN_STAGES`)
STAGE_LABELS = lifecycle.NAMES
QUEUE_STAGES = (Stage.COUNTY_REVIEW, Stage.CITY_REVIEW, Stage.EXCEPTION_REVIEW)  # an official must act



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
    EXPERT = "expert"  # addressed by expert id (which may look like a region code: never the same inbox)
    PUBLIC = "public"  # a member of the public (an objector): reached only at the address the event carries


class Notice(BaseModel):
    """One message to one recipient: which template, and the facts it is filled with."""

    model_config = ConfigDict(frozen=True)

    template: str
    recipient: str
    audience: Audience
    facts: dict[str, str]
    application_id: str = ""  # the application concerned, when not the event's key (an objection's target)
    address: str | None = None  # PUBLIC only: the phone or e-mail the event carries (personal data)


def holder(stage: Stage, region_code: str, city_code: str) -> str | None:
    """Whose queue an application in ``stage`` sits in: a county, a city or the province (None: nobody's)."""
    return {Stage.COUNTY_REVIEW: region_code, Stage.CITY_REVIEW: city_code,
            Stage.EXCEPTION_REVIEW: PROVINCE}.get(stage)


def reader(audience: Audience, code: str) -> str:
    """Whose inbox and preferences: audience and code together ("official:420100" is not "expert:420100")."""
    return f"{audience.value}:{code}"


def legacy_reader(code: str) -> str:
    """The reader of a message stored before inboxes were keyed by audience (by its bare code)."""
    if code == PROVINCE or code in hubei_counties() or code in hubei_cities():
        return reader(Audience.OFFICIAL, code)
    return reader(Audience.APPLICANT if len(code) == 18 else Audience.EXPERT, code)


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


Deadlines = Mapping[str, date]


UNKNOWN_DEADLINE = "批次规定期限"  # a notice planned before the round's deadlines reached notify says this


def deadline_text(deadlines: Deadlines, stage: Stage) -> str:
    day = deadlines.get(stage.value)
    return cn_date(day) if day else UNKNOWN_DEADLINE


# ---- where the application stands -------------------------------------------------------------------


def advance(case: Case | None, event: Event) -> Case | None:
    """The case after ``event``: only forward within a submission (events on different topics may arrive
    in any order), and a newer submission starts again. An event behind the case still gives it the names it
    lacks: a withdrawal read before its submission names no one."""
    after = lifecycle.position_after(event)
    if after is None or after.stage not in lifecycle.CHAIN_STAGES:
        return case
    if case is not None and after <= lifecycle.position(case.revision, case.stage):
        return named(case, event)
    applicant, platform = names_in(event) or known_names(case)
    return Case(application_id=event.application_id, round_id=event.round_id, revision=after.revision,
                stage=after.stage, region_code=region_of(event), city_code=getattr(event, "city_code", ""),
                applicant_name=applicant, platform_name=platform)


def changed_stage(before: Case | None, after: Case | None) -> bool:
    """Whether the application changed stage or submission (not only learned its names)."""
    if after is None:
        return False
    return before is None or (after.revision, after.stage) != (before.revision, before.stage)


def region_of(event: Event) -> str:
    if isinstance(event, ApplicationSubmitted):
        return event.dossier.applicant.region_code
    return str(getattr(event, "region_code", ""))


def names_in(event: Event) -> tuple[str, str] | None:
    """The applicant's and the platform's names, when ``event`` carries them."""
    if isinstance(event, ApplicationSubmitted):
        return event.dossier.applicant.name, event.dossier.platform.name
    if isinstance(event, ApplicationScreened | ChainStep):
        return event.applicant_name, event.platform_name
    return None


def known_names(case: Case | None) -> tuple[str, str]:
    """The case's names; empty when it has none (a case stored before names were filled in late kept the
    application's id as its platform name)."""
    if case is None or case.platform_name == case.application_id:
        return "", ""
    return case.applicant_name, case.platform_name


def named(case: Case, event: Event) -> Case:
    """``case`` with the names ``event`` carries, when it has none yet."""
    names = names_in(event)
    if names is None or any(known_names(case)):
        return case
    return case.model_copy(update={"applicant_name": names[0], "platform_name": names[1]})


def applicant_and_platform(event: Event, case: Case | None) -> tuple[str, str]:
    """The names a notice says: the event's, else the case's, else "申报主体" and the application's id."""
    applicant, platform = names_in(event) or known_names(case)
    return applicant or "申报主体", platform or event.application_id


def schedule(current: RoundSchedule | None, event: RoundScheduled) -> RoundSchedule:
    """The round's deadlines after ``event``: only a later schedule replaces them (redeliveries come late)."""
    if current is not None and event.scheduled_at < current.scheduled_at:
        return current
    return RoundSchedule(round_id=event.round_id, deadlines=dict(event.deadlines), scheduled_at=event.scheduled_at)
