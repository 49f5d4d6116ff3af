"""The registry's pure rules: publicity, objections, closing into registry entries, annual reports and
standing. No I/O, no clock: callers pass ``today``/``now``."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from zhongshi_contracts.reference import Cluster, PlatformType, ServiceKind
from zhongshi_contracts.registry import FinalDecision, PublicityItem
from zhongshi_contracts.review import Decision
from zhongshi_runtime.errors import Refusal

from zhongshi_registry import workdays


class Refused(Refusal):
    """A business rule refuses the request (409); the message is for the caller, in Chinese."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Profile(_Record):
    """What the registry keeps of a forwarded application's dossier (public fields and thresholds only)."""

    application_id: str
    round_id: str
    platform_type: PlatformType
    clusters: list[Cluster]
    service_kinds: list[ServiceKind]
    equipment_original_value: Decimal
    professionals: int


class DecisionRecord(_Record):
    """The province's review decision for one application."""

    application_id: str
    round_id: str
    decision: Decision
    score: Decimal | None
    rank: int | None
    platform_name: str
    applicant_name: str
    applicant_credit_code: str
    region_code: str
    city_code: str
    decided_at: datetime
    decided_in_round: int | None = None  # how many the confirmation decided (None: an event before it was kept)


class Publicity(_Record):
    round_id: str
    working_days: int
    starts_on: date
    ends_on: date
    opened_at: datetime
    items: list[PublicityItem]
    closed_at: datetime | None = None

    def is_open_on(self, today: date) -> bool:
        return self.closed_at is None and self.starts_on <= today <= self.ends_on


class ObjectionStatus(StrEnum):
    PENDING = "pending"
    DISMISSED = "dismissed"
    UPHELD = "upheld"


class Objection(_Record):
    """A real-name objection (实名异议). Name, contact and evidence are never published."""

    id: str
    round_id: str
    application_id: str
    name: str
    contact: str
    grounds: str
    evidence: list[str] = Field(default_factory=list)
    objector: str = Field("", description="Who filed it: person:<sub> or contact:<digest> (never published).")
    filed_at: datetime
    status: ObjectionStatus = ObjectionStatus.PENDING
    reason: str = ""
    resolved_at: datetime | None = None


def open_publicity(round_id: str, decisions: list[DecisionRecord], profiles: dict[str, Profile],
                   today: date, working_days: int, now: datetime, calendar: workdays.Calendar,
                   withdrawn: Collection[str] = ()) -> Publicity:
    """Publicity for every accredit/cultivate decision, opening on the next working day after ``today``; an
    application its applicant withdrew is not publicised (intake may accept a withdrawal it made before it
    heard of the decision)."""
    if (missing := not_yet_received(decisions)) > 0:  # a lagging or dead-lettered decision would be left out
        raise Refused(f"批次 {round_id} 尚有 {missing} 项评审结果未送达登记服务，请稍后再公示")
    items = [_item(d, profiles.get(d.application_id)) for d in sorted(decisions, key=_order)
             if d.decision is not Decision.DECLINE and d.application_id not in withdrawn]
    if not items:
        raise Refused(f"批次 {round_id} 没有拟认定或拟培育的评审结果，无法公示")
    starts = calendar.next_working_day(today)
    return Publicity(round_id=round_id, working_days=working_days, starts_on=starts,
                     ends_on=calendar.window(starts, working_days), opened_at=now, items=items)


def not_yet_received(decisions: Collection[DecisionRecord]) -> int:
    """How many of the round's confirmed decisions have not reached the registry: each carries how many the
    confirmation decided."""
    return max((d.decided_in_round or 0 for d in decisions), default=0) - len(decisions)


def _order(d: DecisionRecord) -> tuple[int, str]:
    return (d.rank if d.rank is not None else 10**9, d.application_id)


def _item(d: DecisionRecord, profile: Profile | None) -> PublicityItem:
    return PublicityItem(
        application_id=d.application_id, platform_name=d.platform_name, applicant_name=d.applicant_name,
        city_code=d.city_code, region_code=d.region_code, decision=d.decision,
        platform_type=profile.platform_type if profile else None, clusters=profile.clusters if profile else [],
    )


def check_objection(publicity: Publicity | None, application_id: str, today: date) -> None:
    """Refuse an objection outside the window or about an application not publicised."""
    if publicity is None:
        raise Refused("该批次尚未公示，不接受异议")
    if not publicity.is_open_on(today):
        raise Refused(f"公示期为 {publicity.starts_on} 至 {publicity.ends_on}，今天（{today}）不在公示期内，不接受异议")
    if application_id not in {i.application_id for i in publicity.items}:
        raise Refused(f"application_id：申报 {application_id} 不在本批次公示名单中")


def resolve(objection: Objection, upheld: bool, reason: str, now: datetime) -> Objection:
    if objection.status is not ObjectionStatus.PENDING:
        raise Refused(f"异议 {objection.id} 已处理（{objection.status}）")
    status = ObjectionStatus.UPHELD if upheld else ObjectionStatus.DISMISSED
    return objection.model_copy(update={"status": status, "reason": reason, "resolved_at": now})


def final_decisions(publicity: Publicity, objections: list[Objection], today: date) -> list[FinalDecision]:
    """The round's final decisions: refused before the window ends or while objections are pending."""
    if publicity.closed_at is not None:
        raise Refused("公示已结束")
    if today <= publicity.ends_on:
        raise Refused(f"公示期至 {publicity.ends_on} 结束，届满后方可结束公示")
    pending = [o.id for o in objections if o.status is ObjectionStatus.PENDING]
    if pending:
        raise Refused(f"尚有未处理的异议：{', '.join(pending)}")
    return outcome(publicity, objections)


def outcome(publicity: Publicity, objections: list[Objection]) -> list[FinalDecision]:
    """Each publicised decision after objections: an upheld objection declines it."""
    upheld = {o.application_id for o in objections if o.status is ObjectionStatus.UPHELD}
    return [FinalDecision(application_id=i.application_id,
                          decision=Decision.DECLINE if i.application_id in upheld else i.decision,
                          changed_by_objection=i.application_id in upheld) for i in publicity.items]


def certificate_number(fmt: str, year: int, sequence: int) -> str:
    """e.g. ``鄂中试〔{year}〕{seq:03d}号`` → 鄂中试〔2026〕001号."""
    return fmt.format(year=year, seq=sequence)


def certificate_sequence(year: int) -> str:
    """Certificate numbers run in one sequence per accreditation year, across rounds."""
    return f"certificate/{year}"
