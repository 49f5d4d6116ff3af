"""Builders for notify's tests: one event of every kind notify consumes, for an application in 洪山区 (武汉)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationScreened, ApplicationSubmitted, ApplicationWithdrawn, Event
from zhongshi_contracts.recommendation import (
    Actor,
    ApplicationExceptionDecided,
    ApplicationForwarded,
    ApplicationRecommended,
    ApplicationRejected,
    ApplicationReturned,
    ChainStep,
    Level,
    RoundScheduled,
)
from zhongshi_contracts.reference import region
from zhongshi_contracts.registry import PlatformAccredited, PlatformCultivationListed, PlatformListed
from zhongshi_contracts.review import AssignmentDeclined, PanelDrawn, PanelMember, ReviewDecided

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def meta(event: Event, event_id: str | None = None) -> CloudEvent:
    envelope = CloudEvent.new(event.topic, source="/test", subject=event.application_id, at=NOW)
    return envelope.model_copy(update={"id": event_id}) if event_id else envelope


def submitted(d: Dossier, app_id: str = "A1", revision: int = 1, round_id: str = "R1") -> ApplicationSubmitted:
    return ApplicationSubmitted(application_id=app_id, round_id=round_id, revision=revision,
                                rule_set_version="hubei-2025-v1", submitted_at=NOW,
                                city_code=region(d.applicant.region_code).city_code, dossier=d)


def _where(d: Dossier) -> dict[str, str]:
    code = d.applicant.region_code
    return {"region_code": code, "city_code": region(code).city_code, "applicant_name": d.applicant.name,
            "applicant_credit_code": d.applicant.credit_code, "platform_name": d.platform.name}


def screened(d: Dossier, outcome: str = "eligible", app_id: str = "A1", revision: int = 1, round_id: str = "R1",
             flagged: list[str] | None = None) -> ApplicationScreened:
    failing = ["C7"] if outcome == "ineligible" else []
    return ApplicationScreened(application_id=app_id, round_id=round_id, revision=revision,
                               rule_set_version="hubei-2025-v1", as_of=NOW.date(), outcome=outcome, clauses=[],
                               failing=failing, flagged=flagged or [], screened_at=NOW, **_where(d))


def actor(level: Level, scope: str) -> Actor:
    return Actor(id=f"{level}_official:{scope}", role=f"{level}_official", region_code=scope)


def step(cls: type[ChainStep], d: Dossier, level: Level = Level.COUNTY, app_id: str = "A1", revision: int = 1,
         round_id: str = "R1", opinion: str = "经审核，同意推荐。联系人电话13912345678", **extra: Any) -> Any:
    where = _where(d)
    scope = {Level.COUNTY: where["region_code"], Level.CITY: where["city_code"], Level.PROVINCE: "42"}[level]
    return cls(application_id=app_id, round_id=round_id, revision=revision, level=level, actor=actor(level, scope),
               opinion=opinion, acted_at=NOW, **where, **extra)


def recommended(d: Dossier, **kw: Any) -> ApplicationRecommended:
    return step(ApplicationRecommended, d, **kw)  # type: ignore[no-any-return]


def forwarded(d: Dossier, flagged: list[str] | None = None, **kw: Any) -> ApplicationForwarded:
    return step(ApplicationForwarded, d, Level.CITY, priority=1, quota=3, opinions=[], flagged=flagged or [],  # type: ignore[no-any-return]
                rule_set_version="hubei-2025-v1", clauses=[], dossier=d, **kw)


def returned(d: Dossier, **kw: Any) -> ApplicationReturned:
    return step(ApplicationReturned, d, **kw)  # type: ignore[no-any-return]


def rejected(d: Dossier, **kw: Any) -> ApplicationRejected:
    return step(ApplicationRejected, d, Level.CITY, **kw)  # type: ignore[no-any-return]


def exception_decided(d: Dossier, approved: bool = True, **kw: Any) -> ApplicationExceptionDecided:
    return step(ApplicationExceptionDecided, d, Level.PROVINCE, approved=approved, clauses=["C5"], **kw)  # type: ignore[no-any-return]


def withdrawn(d: Dossier, app_id: str = "A1", revision: int = 1, reason: str = "企业战略调整") -> ApplicationWithdrawn:
    where = _where(d)
    return ApplicationWithdrawn(application_id=app_id, round_id="R1", revision=revision, withdrawn_at=NOW,
                                reason=reason, applicant_credit_code=where["applicant_credit_code"],
                                region_code=where["region_code"], city_code=where["city_code"])


def scheduled(round_id: str = "R1", quotas: dict[str, int] | None = None, at: datetime = NOW,
              **deadlines: date) -> RoundScheduled:
    return RoundScheduled(application_id=round_id, round_id=round_id, quotas=quotas or {"420100": 3},
                          deadlines=deadlines, scheduled_at=at, actor=actor(Level.PROVINCE, "42"))


def panel_drawn(app_id: str = "A1") -> PanelDrawn:
    return PanelDrawn(application_id=app_id, round_id="R1", panel_id=f"P-{app_id}", experts=["E001", "E002"],
                      seed="s", candidates=9, excluded=1, drawn_at=NOW)


def declined(replacement: str | None = "E003") -> AssignmentDeclined:
    return AssignmentDeclined(application_id="A1", round_id="R1", panel_id="P-A1", expert_id="E002",
                              reason="曾合作", replacement=replacement, declined_at=NOW)


def decided(d: Dossier, decision: str = "accredit") -> ReviewDecided:
    return ReviewDecided(
        application_id="A1", round_id="R1", decision=decision, score="86.50", rank=2, rubric_version="v1",
        aggregation="trimmed_mean", panel=[PanelMember(expert_id="E001", total="86.50")], overridden=False,
        justification="达到认定线", platform_name=d.platform.name, applicant_name=d.applicant.name,
        applicant_credit_code=d.applicant.credit_code, region_code=d.applicant.region_code,
        city_code=region(d.applicant.region_code).city_code, decided_at=NOW)


def listed(d: Dossier, cls: type[PlatformListed] = PlatformAccredited) -> PlatformListed:
    extra = {"certificate_no": "鄂中试〔2026〕001号", "accredited_on": date(2026, 12, 7)} \
        if cls is PlatformAccredited else {}
    return cls(application_id="A1", round_id="R1", platform_id="P-A1", platform_name=d.platform.name,
               applicant_name=d.applicant.name, applicant_credit_code=d.applicant.credit_code,
               region_code=d.applicant.region_code, city_code=region(d.applicant.region_code).city_code,
               platform_type=d.platform.platform_type, clusters=d.platform.clusters,
               service_kinds=d.platform.service_kinds, listed_on=date(2026, 12, 7), **extra)


def one_of_each(d: Dossier) -> list[Event]:
    """An event of every type notify consumes."""
    return [submitted(d), screened(d, flagged=["C5"], outcome="needs_exception"), recommended(d),
            forwarded(d, flagged=["C5"]), exception_decided(d), returned(d), rejected(d), withdrawn(d),
            scheduled(county_review=date(2026, 12, 1)), panel_drawn(), declined(), declined(None), decided(d),
            listed(d), listed(d, PlatformCultivationListed)]
