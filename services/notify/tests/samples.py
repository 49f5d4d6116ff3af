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
from zhongshi_contracts.registry import (
    AnnualReportFiled,
    ObjectionResolved,
    PlatformAccredited,
    PlatformCultivationListed,
    PlatformListed,
    PlatformRevoked,
    PlatformStandingConfirmed,
    PlatformWarned,
    PublicityClosed,
    PublicityItem,
    PublicityObjectionFiled,
    PublicityOpened,
)
from zhongshi_contracts.review import AssignmentDeclined, PanelDrawn, PanelMember, ReviewDecided, Scored

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
HANG_S = 10  # a bound on a wait that catches a hang only: a busy machine may stretch a step, never a verdict


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


SCORE_BY = date(2026, 12, 7)


def panel_drawn(app_id: str = "A1", experts: tuple[str, ...] = ("E001", "E002"),
                score_by: date | None = SCORE_BY, round_id: str = "R1") -> PanelDrawn:
    return PanelDrawn(application_id=app_id, round_id=round_id, panel_id=f"P-{app_id}", experts=list(experts),
                      seed="s", candidates=9, excluded=1, drawn_at=NOW, score_by=score_by)


def declined(replacement: str | None = "E003", app_id: str = "A1", expert: str = "E002") -> AssignmentDeclined:
    return AssignmentDeclined(application_id=app_id, round_id="R1", panel_id=f"P-{app_id}", expert_id=expert,
                              reason="曾合作", replacement=replacement, declined_at=NOW)


def scored(expert: str, app_id: str = "A1") -> Scored:
    return Scored(application_id=app_id, round_id="R1", panel_id=f"P-{app_id}", expert_id=expert,
                  rubric_version="v1", total="82.50", scores={"talent_team": 8}, scored_at=NOW)


def decided(d: Dossier, decision: str = "accredit", app_id: str = "A1") -> ReviewDecided:
    return ReviewDecided(
        application_id=app_id, round_id="R1", decision=decision, score="86.50", rank=2, rubric_version="v1",
        aggregation="trimmed_mean", panel=[PanelMember(expert_id="E001", total="86.50")], overridden=False,
        justification="达到认定线", platform_name=d.platform.name, applicant_name=d.applicant.name,
        applicant_credit_code=d.applicant.credit_code, region_code=d.applicant.region_code,
        city_code=region(d.applicant.region_code).city_code, decided_at=NOW)


def listed(d: Dossier, cls: type[PlatformListed] = PlatformAccredited, app_id: str = "A1",
           on: date = date(2026, 12, 7)) -> PlatformListed:
    extra = {"certificate_no": "鄂中试〔2026〕001号", "accredited_on": on} if cls is PlatformAccredited else {}
    return cls(application_id=app_id, round_id="R1", platform_id=f"P-{app_id}", platform_name=d.platform.name,
               applicant_name=d.applicant.name, applicant_credit_code=d.applicant.credit_code,
               region_code=d.applicant.region_code, city_code=region(d.applicant.region_code).city_code,
               platform_type=d.platform.platform_type, clusters=d.platform.clusters,
               service_kinds=d.platform.service_kinds, listed_on=on, **extra)


OBJECTOR_PHONE, OBJECTOR_EMAIL = "13800001111", "zhang.san@example.cn"
ENDS_ON = date(2026, 12, 4)


def publicity_opened(d: Dossier, round_id: str = "R1", ends_on: date = ENDS_ON) -> PublicityOpened:
    where = _where(d)
    item = PublicityItem(application_id="A1", platform_name=d.platform.name, applicant_name=d.applicant.name,
                         city_code=where["city_code"], region_code=where["region_code"], decision="accredit")
    return PublicityOpened(application_id=round_id, round_id=round_id, working_days=5,
                           starts_on=date(2026, 11, 30), ends_on=ends_on, items=[item], opened_at=NOW)


def objection_filed(objection_id: str = "OBJ-1", round_id: str = "R1") -> PublicityObjectionFiled:
    return PublicityObjectionFiled(application_id=round_id, round_id=round_id, objection_id=objection_id,
                                   filed_at=NOW, objected_application_id="A1")


def objection_resolved(upheld: bool = False, reply_to: str = OBJECTOR_PHONE, objection_id: str = "OBJ-1",
                       reason: str = "经核查，所涉技术成果转化合同真实有效，异议不成立。") -> ObjectionResolved:
    return ObjectionResolved(application_id="R1", round_id="R1", objection_id=objection_id,
                             objected_application_id="A1", upheld=upheld, reason=reason, resolved_at=NOW,
                             reply_to=reply_to)


def publicity_closed(round_id: str = "R1") -> PublicityClosed:
    return PublicityClosed(application_id=round_id, round_id=round_id, closed_at=NOW, decisions=[], objections=[])


def report_filed(year: int, app_id: str = "A1") -> AnnualReportFiled:
    return AnnualReportFiled(application_id=app_id, round_id="R1", platform_id=f"P-{app_id}", year=year,
                             service_projects=30, clients_served=20, service_revenue="6000000.00",
                             technology_transfers=4, equipment_value="12000000.00", staff=25, shortfalls=[],
                             filed_at=NOW)


def standing_confirmed(year: int = 2026) -> PlatformStandingConfirmed:
    return PlatformStandingConfirmed(application_id="A1", round_id="R1", platform_id="P-A1", year=year,
                                     reason="各项指标达到要求", confirmed_at=NOW)


def warned(rectify_by: date | None = date(2027, 9, 30)) -> PlatformWarned:
    return PlatformWarned(application_id="A1", round_id="R1", platform_id="P-A1", year=2026,
                          reason="服务收入未达到要求，公共服务开放不足", rectify_by=rectify_by, warned_at=NOW)


def revoked(app_id: str = "A1") -> PlatformRevoked:
    return PlatformRevoked(application_id=app_id, round_id="R1", platform_id=f"P-{app_id}",
                           certificate_no="鄂中试〔2026〕001号", reason="整改期满仍未达到认定条件", revoked_at=NOW)


def one_of_each(d: Dossier) -> list[Event]:
    """An event of every type notify consumes."""
    return [submitted(d), screened(d, flagged=["C5"], outcome="needs_exception"), recommended(d),
            forwarded(d, flagged=["C5"]), exception_decided(d), returned(d), rejected(d), withdrawn(d),
            scheduled(county_review=date(2026, 12, 1)), panel_drawn(), declined(), declined(None), decided(d),
            listed(d), listed(d, PlatformCultivationListed), objection_resolved(), standing_confirmed(), warned(),
            revoked()]
