"""Event models of the public contract: frozen, past-tense, versioned by their CloudEvents type."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from zhongshi_contracts import topics
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.materials import MaterialReference
from zhongshi_contracts.privacy import Classification, mark_fields
from zhongshi_contracts.topics import Topic


class Event(BaseModel):
    """Base of every event: consumers ignore unknown fields so optional additions never break them."""

    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_extra=mark_fields)
    classification: ClassVar[Classification] = Classification.PUBLIC
    topic: ClassVar[Topic]
    type_version: ClassVar[int] = 1  # the N of the CloudEvents type `.vN`
    internal_topic: ClassVar[Topic | None] = None  # set: the event carries personal data and travels there,
    # its public projection (zhongshi_contracts.projections) on ``topic``

    @classmethod
    def ce_type(cls) -> str:
        """This event's CloudEvents type, e.g. ``cn.gov.hubei.pilot.application.submitted.v1``."""
        return cls.topic.ce_type(cls.type_version)

    @classmethod
    def wire_topic(cls) -> Topic:
        """The topic this event is published on and consumed from."""
        return cls.internal_topic or cls.topic

    application_id: str = Field(description="The application (message key).", examples=["A2026-4201-000017"])
    round_id: str = Field(description="The round (批次).", examples=["R2026-01"])


class ApplicationSubmitted(Event):
    """An applicant submitted (or resubmitted) an application; carries the full dossier snapshot."""

    topic = topics.APPLICATION_SUBMITTED
    internal_topic = topics.APPLICATION_SUBMITTED_INTERNAL
    revision: int = Field(ge=1, description="1 for the first submission, +1 for each resubmission.")
    rule_set_version: str = Field(description="The screening rule set the round uses.")
    submitted_at: datetime
    city_code: str = Field(description="City-level region code derived from the applicant's county.")
    dossier: Dossier
    materials: list[MaterialReference] = Field(
        default_factory=list, description="The uploaded materials this submission froze (references, no bytes); "
                                          "absent from events of earlier releases.")


class RuleSetPublished(Event):
    """Screening stores (or, at each start, re-announces) a rule-set version: intake opens rounds only on a
    version it learned this way. Keyed by the version (``application_id`` carries it; ``round_id`` is empty)."""

    topic = topics.RULE_SET_PUBLISHED
    version: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$", examples=["hubei-2025-v1"])
    title: str
    published_at: datetime


class ApplicationWithdrawn(Event):
    """The applicant withdrew its application."""

    topic = topics.APPLICATION_WITHDRAWN
    revision: int = Field(ge=1)
    withdrawn_at: datetime
    reason: str = Field(max_length=2000)
    applicant_credit_code: str
    region_code: str
    city_code: str


class ScreeningOutcome(StrEnum):
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    NEEDS_EXCEPTION = "needs_exception"


class ClauseStatus(StrEnum):
    PASS = "pass"  # noqa: S105 - a clause result, not a password
    FAIL = "fail"
    FLAGGED = "flagged"


class ClauseResult(BaseModel):
    """One condition of 《湖北省制造业中试平台培育建设工作指引》五、条件要求 as measured on a dossier."""

    model_config = ConfigDict(frozen=True, json_schema_extra=mark_fields)
    classification: ClassVar[Classification] = Classification.PUBLIC

    clause: str = Field(examples=["C5"])
    title: str = Field(examples=["设备原值1000万元以上"])
    in_principle: bool = Field(description="原则上: a shortfall is flagged for an exception, not failed.")
    measured: str = Field(examples=["8500000.00"])
    threshold: str = Field(examples=["≥ 10000000"])
    status: ClauseStatus
    reason: str = Field(description="Why, in Simplified Chinese, for the applicant and officials.")


class ApplicationScreened(Event):
    """Screening evaluated a submission against its round's rule set."""

    topic = topics.APPLICATION_SCREENED
    revision: int = Field(ge=1)
    rule_set_version: str
    as_of: date = Field(description="The Asia/Shanghai date the rules were applied at (the submission date).")
    outcome: ScreeningOutcome
    clauses: list[ClauseResult]
    failing: list[str] = Field(description="Every failing hard clause, e.g. ['C2', 'C7'].")
    flagged: list[str] = Field(description="In-principle clauses needing an exception decision.")
    screened_at: datetime
    applicant_name: str
    applicant_credit_code: str
    platform_name: str
    region_code: str
    city_code: str
