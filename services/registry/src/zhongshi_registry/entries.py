"""Registry entries (accredited platforms and cultivation objects) and their lifecycle: annual reports
checked against the accreditation thresholds, yearly standing, revocation, national recommendation."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from zhongshi_contracts.reference import Cluster, PlatformType, ServiceKind
from zhongshi_contracts.registry import NationalOutcome

from zhongshi_registry.domain import DecisionRecord, Profile, Refused

NATIONAL_DIMENSIONS = ("战略定位", "基础能力", "技术优势", "服务成效", "运行机制", "未来潜力")


class Status(StrEnum):
    ACCREDITED = "accredited"  # 省级制造业中试平台
    WARNING = "warning"  # 限期整改
    REVOKED = "revoked"  # 撤销认定
    CULTIVATION = "cultivation"  # 培育对象
    UPGRADED = "upgraded"  # 培育对象在后续批次获认定（见 next_entry_id）


STATUS_LABELS = {Status.ACCREDITED: "省级制造业中试平台", Status.WARNING: "限期整改", Status.REVOKED: "已撤销",
                 Status.CULTIVATION: "培育对象", Status.UPGRADED: "已获认定（原培育对象）"}


class Standing(StrEnum):
    GOOD = "good"
    WARNING = "warning"
    REVOKED = "revoked"


class HistoryItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    action: str
    note: str = ""


class National(BaseModel):
    model_config = ConfigDict(frozen=True)

    profile: dict[str, dict[str, str]]
    outcome: NationalOutcome = NationalOutcome.PENDING
    recommended_at: datetime


class Entry(BaseModel):
    """One registry entry; every field here is public registry data except ``history`` notes by officials."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: str = Field(description="platform | cultivation")
    status: Status
    application_id: str
    round_id: str
    platform_name: str
    applicant_name: str
    applicant_credit_code: str
    region_code: str
    city_code: str
    platform_type: PlatformType | None
    clusters: list[Cluster]
    service_kinds: list[ServiceKind]
    listed_on: date
    certificate_no: str | None = None
    accredited_on: date | None = None
    previous_entry_id: str | None = None
    next_entry_id: str | None = None
    standings: dict[str, Standing] = Field(default_factory=dict)
    rectify_by: date | None = None
    national: National | None = None
    history: list[HistoryItem] = Field(default_factory=list)

    def noted(self, at: datetime, action: str, note: str = "", **change: object) -> Entry:
        return self.model_copy(update={**change, "history": [*self.history, HistoryItem(at=at, action=action,
                                                                                        note=note)]})


def new_entry(decision: DecisionRecord, profile: Profile | None, *, accredit: bool, listed_on: date,
              now: datetime, certificate_no: str | None, previous: Entry | None) -> Entry:
    entry = Entry(
        id=f"P-{decision.application_id}", kind="platform" if accredit else "cultivation",
        status=Status.ACCREDITED if accredit else Status.CULTIVATION, application_id=decision.application_id,
        round_id=decision.round_id, platform_name=decision.platform_name, applicant_name=decision.applicant_name,
        applicant_credit_code=decision.applicant_credit_code, region_code=decision.region_code,
        city_code=decision.city_code, platform_type=profile.platform_type if profile else None,
        clusters=profile.clusters if profile else [], service_kinds=profile.service_kinds if profile else [],
        listed_on=listed_on, certificate_no=certificate_no, accredited_on=listed_on if accredit else None,
        previous_entry_id=previous.id if previous else None,
    )
    return entry.noted(now, "accredited" if accredit else "cultivation_listed", certificate_no or "")


class Thresholds(BaseModel):
    """The accreditation thresholds an annual report is checked against (C5, C7 and C8 of
    《湖北省制造业中试平台培育建设工作指引》五、条件要求)."""

    model_config = ConfigDict(frozen=True)

    equipment_value: Decimal = Decimal(10_000_000)
    staff: int = 10
    service_revenue: Decimal = Decimal(5_000_000)
    technology_transfers: int = 3


class AnnualReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    platform_id: str
    year: int
    service_projects: int = Field(ge=0)
    clients_served: int = Field(ge=0)
    service_revenue: Decimal = Field(ge=0, max_digits=16, decimal_places=2)
    technology_transfers: int = Field(ge=0)
    equipment_value: Decimal = Field(ge=0, max_digits=16, decimal_places=2)
    staff: int = Field(ge=0)
    filed_at: datetime
    shortfalls: list[str] = Field(default_factory=list)


def shortfalls(report: AnnualReport, t: Thresholds) -> list[str]:
    """Each threshold the report falls below, in Chinese ("以上" includes the number itself)."""
    found = []
    if report.equipment_value < t.equipment_value:
        found.append(f"设备原值 {report.equipment_value} 元低于 {t.equipment_value} 元")
    if report.staff < t.staff:
        found.append(f"专业人才 {report.staff} 人少于 {t.staff} 人")
    if report.service_revenue < t.service_revenue and report.technology_transfers < t.technology_transfers:
        found.append(f"中试服务收入 {report.service_revenue} 元低于 {t.service_revenue} 元且技术成果转化"
                     f" {report.technology_transfers} 项少于 {t.technology_transfers} 项")
    return found


def check_accredited(entry: Entry) -> None:
    if entry.kind != "platform":
        raise Refused(f"{entry.id} 是培育对象，不是已认定平台")
    if entry.status is Status.REVOKED:
        raise Refused(f"{entry.id} 已被撤销认定")


def evaluate(entry: Entry, year: int, standing: Standing, reason: str, rectify_by: date | None,
             now: datetime) -> Entry:
    """The province's yearly standing; a warning needs a rectification deadline."""
    check_accredited(entry)
    if standing is Standing.WARNING and rectify_by is None:
        raise Refused("rectify_by：限期整改须填写整改期限")
    standings = {**entry.standings, str(year): standing}
    if standing is Standing.REVOKED:
        return revoke(entry, reason, now).model_copy(update={"standings": standings})
    status = Status.WARNING if standing is Standing.WARNING else Status.ACCREDITED
    return entry.noted(now, f"evaluated_{year}_{standing}", reason, standings=standings, status=status,
                       rectify_by=rectify_by if standing is Standing.WARNING else None)


def revoke(entry: Entry, reason: str, now: datetime) -> Entry:
    check_accredited(entry)
    return entry.noted(now, "revoked", reason, status=Status.REVOKED, rectify_by=None)


def national_profile_problem(profile: dict[str, dict[str, str]]) -> str | None:
    """What is wrong with a readiness profile on the six national dimensions, or None."""
    missing = [d for d in NATIONAL_DIMENSIONS if d not in profile]
    unknown = [d for d in profile if d not in NATIONAL_DIMENSIONS]
    if missing or unknown:
        return (f"须且仅须包含六个维度 {'、'.join(NATIONAL_DIMENSIONS)}"
                f"（缺少：{'、'.join(missing) or '无'}；多余：{'、'.join(unknown) or '无'}）")
    return None


def recommend_national(entry: Entry, profile: dict[str, dict[str, str]], now: datetime) -> Entry:
    check_accredited(entry)
    if problem := national_profile_problem(profile):
        raise Refused(f"profile：{problem}")
    return entry.noted(now, "national_recommended", national=National(profile=profile, recommended_at=now))


def record_national_outcome(entry: Entry, outcome: NationalOutcome, now: datetime) -> Entry:
    if entry.national is None:
        raise Refused(f"{entry.id} 尚未被推荐申报国家制造业中试平台")
    return entry.noted(now, f"national_{outcome}", national=entry.national.model_copy(update={"outcome": outcome}))
