"""Events of the registry (《湖北省制造业中试平台培育建设工作指引》一、目标任务 and
六（三）（四）): publicity, accredited platforms, cultivation objects, annual reports, standing, revocation and
national recommendation.

Publicity events are keyed by the round id (``application_id`` carries the round id, as `RoundScheduled`
does); platform events keep the originating application id as key and add ``platform_id``. Only
`ObjectionResolved` carries personal data (the objector's ``reply_to``), on an internal topic.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from zhongshi_contracts import topics
from zhongshi_contracts.events import Event
from zhongshi_contracts.privacy import PERSONAL, Classification, mark_fields
from zhongshi_contracts.reference import Cluster, PlatformType, ServiceKind
from zhongshi_contracts.review import Decision


class PublicityItem(BaseModel):
    """One publicised decision: only public registry data."""

    model_config = ConfigDict(frozen=True, json_schema_extra=mark_fields)
    classification: ClassVar[Classification] = Classification.PUBLIC

    application_id: str
    platform_name: str
    applicant_name: str
    city_code: str
    region_code: str
    platform_type: PlatformType | None = Field(None, description="None when the dossier was never seen.")
    clusters: list[Cluster] = Field(default_factory=list)
    decision: Decision


class PublicityOpened(Event):
    """The province opened the round's publicity (公示) for N working days (Chinese calendar)."""

    topic = topics.PUBLICITY_OPENED
    working_days: int = Field(ge=1)
    starts_on: date = Field(description="First day of the window (Asia/Shanghai), a working day.")
    ends_on: date = Field(description="Last day of the window (Asia/Shanghai), inclusive.")
    items: list[PublicityItem]
    opened_at: datetime


class PublicityObjectionFiled(Event):
    """Someone filed a real-name objection during publicity; the objector's identity is not in the event."""

    topic = topics.PUBLICITY_OBJECTION_FILED
    objection_id: str
    filed_at: datetime
    objected_application_id: str | None = Field(None, description="The publicised application objected to.")


class ObjectionResolved(Event):
    """The province dismissed or upheld an objection. ``reply_to`` is the objector's own contact (phone or
    e-mail), carried only so that notify can tell the objector: it is personal data, so the event travels on an
    internal topic and subscribers get its public projection (`projections.ObjectionResolvedV2`)."""

    topic = topics.PUBLICITY_OBJECTION_RESOLVED
    internal_topic = topics.PUBLICITY_OBJECTION_RESOLVED_INTERNAL
    objection_id: str
    objected_application_id: str
    upheld: bool
    reason: str
    resolved_at: datetime
    reply_to: Annotated[str, PERSONAL] = Field(description="Personal data: the objector's phone or e-mail.")


class ObjectionOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, json_schema_extra=mark_fields)
    classification: ClassVar[Classification] = Classification.PUBLIC

    objection_id: str
    application_id: str
    upheld: bool
    reason: str


class FinalDecision(BaseModel):
    model_config = ConfigDict(frozen=True, json_schema_extra=mark_fields)
    classification: ClassVar[Classification] = Classification.PUBLIC

    application_id: str
    decision: Decision
    changed_by_objection: bool


class PublicityClosed(Event):
    """The window ended and every objection was resolved: the round's decisions are final."""

    topic = topics.PUBLICITY_CLOSED
    closed_at: datetime
    decisions: list[FinalDecision]
    objections: list[ObjectionOutcome]


class PlatformListed(Event):
    """What a registry entry publishes about itself."""

    platform_id: str
    platform_name: str
    applicant_name: str
    applicant_credit_code: str
    region_code: str
    city_code: str
    platform_type: PlatformType | None
    clusters: list[Cluster]
    service_kinds: list[ServiceKind]
    listed_on: date
    listed_at: datetime | None = Field(None, description="The instant the entry was created (publicity closed).")
    previous_entry_id: str | None = Field(None, description="An earlier entry of the same credit code.")


class PlatformAccredited(PlatformListed):
    """An applicant's platform was accredited as a provincial pilot platform (省级制造业中试平台)."""

    topic = topics.PLATFORM_ACCREDITED
    certificate_no: str = Field(examples=["鄂中试〔2026〕001号"])
    accredited_on: date


class PlatformCultivationListed(PlatformListed):
    """A platform was listed as a cultivation object (培育对象) of its round."""

    topic = topics.PLATFORM_CULTIVATION_LISTED


class AnnualReportFiled(Event):
    """An accredited platform filed its annual report; ``shortfalls`` names each threshold it missed."""

    topic = topics.PLATFORM_ANNUAL_REPORT_FILED
    platform_id: str
    year: int
    service_projects: int
    clients_served: int
    service_revenue: Decimal
    technology_transfers: int
    equipment_value: Decimal
    staff: int
    shortfalls: list[str]
    filed_at: datetime


class PlatformStandingConfirmed(Event):
    """The province marked a platform's year in good standing (年度评价合格); a warning, if any, is lifted."""

    topic = topics.PLATFORM_STANDING_CONFIRMED
    platform_id: str
    year: int
    reason: str
    confirmed_at: datetime


class PlatformWarned(Event):
    """The province put a platform on warning for a year, with a rectification deadline."""

    topic = topics.PLATFORM_WARNED
    platform_id: str
    year: int
    reason: str
    rectify_by: date | None
    warned_at: datetime


class PlatformRevoked(Event):
    """The province revoked an accreditation (annual evaluation, on request or for cause)."""

    topic = topics.PLATFORM_REVOKED
    platform_id: str
    certificate_no: str | None
    reason: str
    revoked_at: datetime
    year: int | None = Field(None, description="The evaluation year when revoked by the yearly evaluation.")


class NationalOutcome(StrEnum):
    PENDING = "pending"
    UPGRADED = "upgraded"  # 获批国家制造业中试平台
    NOT_SELECTED = "not_selected"


class NationalRecommended(Event):
    """The province recommended a platform for national upgrade (or recorded the outcome of it)."""

    topic = topics.PLATFORM_NATIONAL_RECOMMENDED
    platform_id: str
    profile: dict[str, dict[str, str]] = Field(description="Dimension → {score, notes} on the six national dimensions.")
    outcome: NationalOutcome
    at: datetime
