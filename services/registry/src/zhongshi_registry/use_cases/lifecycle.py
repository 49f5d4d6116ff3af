"""The lifecycle of listed platforms: the applicant's annual reports, and the province's yearly standing,
revocation and national recommendation, each applied to the entry as stored (no lost update)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from fastapi.exceptions import RequestValidationError
from zhongshi_contracts.events import Event
from zhongshi_contracts.registry import (
    AnnualReportFiled,
    NationalOutcome,
    NationalRecommended,
    PlatformRevoked,
    PlatformStandingConfirmed,
    PlatformWarned,
)
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.clock import shanghai_date
from zhongshi_runtime.errors import must_exist
from zhongshi_runtime.outbox import Outcome, Session

from zhongshi_registry import entries as lifecycle
from zhongshi_registry.entries import STATUS_LABELS, AnnualReport, Entry, Standing
from zhongshi_registry.use_cases import Deps

Step = Callable[[Entry, datetime], tuple[Entry, Event]]


async def entry_of(deps: Deps, platform_id: str, session: Session = None) -> Entry:
    return must_exist(await deps.repo.entry(platform_id, session), f"登记簿中没有 {platform_id}")


async def file_report(deps: Deps, entry: Entry, report: AnnualReport, audit: Audit) -> AnnualReport:
    """Keep the year's report of an accredited platform, with the thresholds it falls short of."""
    lifecycle.check_accredited(entry)
    if report.year > shanghai_date(report.filed_at).year:
        raise RequestValidationError([{"loc": ("body", "year"), "msg": f"{report.year} 年尚未开始",
                                       "type": "value_error"}])
    filed = report.model_copy(update={"shortfalls": lifecycle.shortfalls(report, deps.thresholds)})

    async def work(session: Session) -> Outcome[AnnualReport]:
        await deps.repo.file_report(filed, session)
        return Outcome(filed, [AnnualReportFiled(application_id=entry.application_id, round_id=entry.round_id,
                                                 **filed.model_dump(exclude={"platform_id"}),
                                                 platform_id=filed.platform_id)])

    audit.application_ids, audit.round_id = [entry.application_id], entry.round_id
    audit.outcome = f"{filed.year}年度；未达标：{'；'.join(filed.shortfalls) or '无'}"
    return await deps.uow.run(work, audit=audit)


async def change(deps: Deps, platform_id: str, step: Step, audit: Audit) -> Entry:
    """Apply a province action to the entry as stored, with its event, in one transaction."""
    now = deps.clock()

    async def work(session: Session) -> Outcome[Entry]:
        entry = await entry_of(deps, platform_id, session)
        changed, event = step(entry, now)
        await deps.repo.save_entry(changed, session)
        audit.application_ids, audit.round_id = [entry.application_id], entry.round_id
        audit.outcome = audit.outcome or STATUS_LABELS[changed.status]
        return Outcome(changed, [event])

    return await deps.uow.run(work, audit=audit)


def evaluation(year: int, standing: Standing, reason: str, rectify_by: date | None) -> Step:
    """The year's standing: confirmed, warned with a deadline, or revoked."""
    def step(entry: Entry, now: datetime) -> tuple[Entry, Event]:
        changed = lifecycle.evaluate(entry, year, standing, reason, rectify_by, now)
        ids = {"application_id": entry.application_id, "round_id": entry.round_id, "platform_id": entry.id}
        if standing is Standing.WARNING:
            return changed, PlatformWarned(**ids, year=year, reason=reason, rectify_by=rectify_by, warned_at=now)
        if standing is Standing.REVOKED:
            return changed, revoked_event(changed, reason, now, year)
        return changed, PlatformStandingConfirmed(**ids, year=year, reason=reason, confirmed_at=now)
    return step


def revocation(reason: str) -> Step:
    def step(entry: Entry, now: datetime) -> tuple[Entry, Event]:
        changed = lifecycle.revoke(entry, reason, now)
        return changed, revoked_event(changed, reason, now)
    return step


def recommendation(profile: dict[str, dict[str, str]]) -> Step:
    def step(entry: Entry, now: datetime) -> tuple[Entry, Event]:
        changed = lifecycle.recommend_national(entry, profile, now)
        return changed, national_event(changed, now)
    return step


def national_outcome(outcome: NationalOutcome) -> Step:
    def step(entry: Entry, now: datetime) -> tuple[Entry, Event]:
        changed = lifecycle.record_national_outcome(entry, outcome, now)
        return changed, national_event(changed, now)
    return step


def revoked_event(entry: Entry, reason: str, now: datetime, year: int | None = None) -> PlatformRevoked:
    return PlatformRevoked(application_id=entry.application_id, round_id=entry.round_id, platform_id=entry.id,
                           certificate_no=entry.certificate_no, reason=reason, revoked_at=now, year=year)


def national_event(entry: Entry, now: datetime) -> NationalRecommended:
    if entry.national is None:
        raise ValueError("no national recommendation")
    return NationalRecommended(application_id=entry.application_id, round_id=entry.round_id, platform_id=entry.id,
                               profile=entry.national.profile, outcome=entry.national.outcome, at=now)
