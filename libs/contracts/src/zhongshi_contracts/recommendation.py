"""Events of the recommendation chain: county, city, province (初审推荐,
《湖北省制造业中试平台培育建设工作指引》六（一）（二）)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from zhongshi_contracts import topics
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import ClauseResult, Event
from zhongshi_contracts.privacy import INTERNAL, Classification, mark_fields


class Level(StrEnum):
    """Which department acted."""

    COUNTY = "county"  # 县市区经信部门
    CITY = "city"  # 市州经信部门
    PROVINCE = "province"  # 省经信厅


class Actor(BaseModel):
    """The official who acted: user id, role and the region (scope) they act for."""

    model_config = ConfigDict(frozen=True, json_schema_extra=mark_fields)
    classification: ClassVar[Classification] = Classification.PUBLIC

    id: Annotated[str, INTERNAL] = Field(examples=["county_official:420111"])
    role: str = Field(examples=["county_official"])
    region_code: str = Field(description="The official's scope: a county-level, city-level code or 42.")


class Opinion(BaseModel):
    """A department's written opinion (意见) at one step of the chain."""

    model_config = ConfigDict(frozen=True, json_schema_extra=mark_fields)
    classification: ClassVar[Classification] = Classification.PUBLIC

    level: Level
    action: str = Field(examples=["recommend", "forward", "return", "reject", "exception"])
    actor: Actor
    text: str = Field(description="The opinion in Simplified Chinese.")
    at: datetime


class ChainStep(Event):
    """What every step of the chain carries: who acted, for which region, with which opinion, when."""

    revision: int = Field(ge=1, description="The submission the step is about.")
    level: Level
    actor: Actor
    opinion: str = Field(description="The department's written opinion (意见), Simplified Chinese.")
    acted_at: datetime
    region_code: str = Field(description="The applicant's county-level code.")
    city_code: str
    applicant_credit_code: str
    applicant_name: str
    platform_name: str


class ApplicationRecommended(ChainStep):
    """The county (or a province-administered unit's department) recommended the application upward."""

    topic = topics.APPLICATION_RECOMMENDED


class ApplicationReturned(ChainStep):
    """A department returned the application to its applicant for correction and resubmission."""

    topic = topics.APPLICATION_RETURNED


class ApplicationRejected(ChainStep):
    """A department rejected the application: final for this round."""

    topic = topics.APPLICATION_REJECTED


class ApplicationForwarded(ChainStep):
    """The city forwarded the application to the province, within its quota, with the chain's opinions.

    Carries what expert review needs: the dossier, the screening report and the flagged clauses that
    await the province's exception decision (none: the application goes straight to expert review).
    """

    topic = topics.APPLICATION_FORWARDED
    internal_topic = topics.APPLICATION_FORWARDED_INTERNAL
    priority: int = Field(ge=1, description="The city's priority rank among its forwarded applications (1 = first).")
    quota: int = Field(ge=0, description="The city's quota (推荐指标) in this round.")
    opinions: list[Opinion] = Field(description="The chain of opinions, county first.")
    flagged: list[str] = Field(description="In-principle clauses awaiting the province's exception decision.")
    rule_set_version: str
    clauses: list[ClauseResult] = Field(description="The screening report of this revision.")
    dossier: Dossier


class RoundScheduled(Event):
    """The province set (or changed) a round's city quotas and stage deadlines.

    Keyed by the round id (``application_id`` carries the round id too, so every event has a key field).
    """

    topic = topics.ROUND_SCHEDULED
    quotas: dict[str, int] = Field(description="City-level code → its quota (推荐指标) in the round.")
    deadlines: dict[str, date] = Field(
        description="Stage → last day (Asia/Shanghai): county_review, city_review, exception_review, …"
    )
    scheduled_at: datetime
    actor: Actor


class ApplicationExceptionDecided(ChainStep):
    """The province decided the flagged in-principle clauses (C5/C6): approved goes on to expert review,
    refused ends the application as declined."""

    topic = topics.APPLICATION_EXCEPTION_DECIDED
    approved: bool
    clauses: list[str] = Field(description="The flagged clauses decided, e.g. ['C5'].")
