"""Publicity (公示): opening a round's list, entering a year's holidays, and closing it into registry entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from zhongshi_contracts.events import Event
from zhongshi_contracts.registry import (
    FinalDecision,
    ObjectionOutcome,
    PlatformAccredited,
    PlatformCultivationListed,
    PublicityClosed,
    PublicityOpened,
)
from zhongshi_contracts.review import Decision
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.clock import shanghai_date
from zhongshi_runtime.errors import must_exist
from zhongshi_runtime.outbox import Outcome, Session

from zhongshi_registry import domain
from zhongshi_registry.domain import ObjectionStatus, Publicity, Refused
from zhongshi_registry.entries import Entry, Status, new_entry
from zhongshi_registry.use_cases import Deps
from zhongshi_registry.workdays import INSTALLED, Calendar, HolidaySchedule, library_covers


async def publicity_of(deps: Deps, round_id: str) -> Publicity:
    return must_exist(await deps.repo.publicity_of(round_id), f"批次 {round_id} 尚未公示")


async def open_publicity(deps: Deps, round_id: str, working_days: int | None, audit: Audit) -> Publicity:
    """List the round's accredit and cultivate decisions for the given working days (the settings' default)."""
    if await deps.repo.publicity_of(round_id) is not None:
        raise Refused(f"批次 {round_id} 已公示")
    now, decided = deps.clock(), await deps.repo.decisions_of_round(round_id)
    publicity = domain.open_publicity(
        round_id, decided, await deps.repo.profiles_of_round(round_id),
        shanghai_date(now), working_days or deps.settings.publicity_working_days, now,
        Calendar(await deps.repo.holiday_schedules()),
        await deps.repo.withdrawn_among(d.application_id for d in decided))

    async def work(session: Session) -> Outcome[Publicity]:
        if not await deps.repo.open_publicity(publicity, session):
            raise Refused(f"批次 {round_id} 已公示")
        return Outcome(publicity, [PublicityOpened(
            application_id=round_id, round_id=round_id, working_days=publicity.working_days,
            starts_on=publicity.starts_on, ends_on=publicity.ends_on, items=publicity.items, opened_at=now)])

    audit.outcome = f"{publicity.starts_on}至{publicity.ends_on}（{publicity.working_days}个工作日）"
    audit.touches(i.application_id for i in publicity.items)
    return await deps.uow.run(work, audit=audit)


async def enter_calendar(deps: Deps, schedule: HolidaySchedule, audit: Audit) -> HolidaySchedule:
    """Keep a year's holidays as the province entered them, for a year the installed calendar lacks."""
    if library_covers(schedule.year):
        raise Refused(f"{INSTALLED} 已包含 {schedule.year} 年节假日安排，以其为准")

    async def work(session: Session) -> Outcome[HolidaySchedule]:
        await deps.repo.enter_holiday_schedule(schedule, session)
        return Outcome(schedule)

    return await deps.uow.run(work, audit=audit)


async def close_publicity(deps: Deps, round_id: str, audit: Audit) -> list[FinalDecision]:
    """Make the round's decisions final: list its platforms and cultivation objects, numbering certificates."""
    publicity = await publicity_of(deps, round_id)
    objections = await deps.repo.objections_of_round(round_id)
    now = deps.clock()
    today = shanghai_date(now)
    finals = domain.final_decisions(publicity, objections, today)
    accredited = sum(f.decision is Decision.ACCREDIT for f in finals)

    async def work(session: Session) -> Outcome[list[FinalDecision]]:
        current = await deps.repo.publicity_of(round_id, session)
        if current is None or current.closed_at is not None:  # closed meanwhile by another request
            raise Refused("公示已结束")
        numbers = iter(await deps.repo.claim_certificate_numbers(today.year, accredited, session))
        events: list[Event] = [await listed(deps, f, today, now, numbers, session) for f in finals
                               if f.decision is not Decision.DECLINE]
        await deps.repo.save_publicity(publicity.model_copy(update={"closed_at": now}), session)
        outcomes = [ObjectionOutcome(objection_id=o.id, application_id=o.application_id,
                                     upheld=o.status is ObjectionStatus.UPHELD, reason=o.reason) for o in objections]
        return Outcome(finals, [*events, PublicityClosed(application_id=round_id, round_id=round_id, closed_at=now,
                                                         decisions=finals, objections=outcomes)])

    audit.outcome = "；".join(f"{f.application_id}：{f.decision.value}" for f in finals)
    audit.touches(f.application_id for f in finals)
    return await deps.uow.run(work, audit=audit)


async def listed(deps: Deps, final: FinalDecision, today: date, now: datetime, numbers: Iterator[int],
                 session: Session) -> Event:
    """Enter one final decision in the registry, upgrading the applicant's cultivation object if accredited."""
    decision = await deps.repo.decision_of(final.application_id, session)
    if decision is None:
        raise Refused(f"申报 {final.application_id} 的评审结果缺失")
    accredit = final.decision is Decision.ACCREDIT
    previous = await deps.repo.latest_cultivation_of(decision.applicant_credit_code)
    number = None
    if accredit:
        number = domain.certificate_number(deps.settings.format_for(decision.round_id), today.year, next(numbers))
    entry = new_entry(decision, await deps.repo.profile_of(final.application_id, session), accredit=accredit,
                      listed_on=today, now=now, certificate_no=number, previous=previous)
    await deps.repo.save_entry(entry, session)
    if previous is not None and accredit:
        await deps.repo.save_entry(previous.noted(now, "accredited_later", entry.id, status=Status.UPGRADED,
                                                 next_entry_id=entry.id), session)
    return event_of(entry, now)


def event_of(entry: Entry, now: datetime) -> PlatformAccredited | PlatformCultivationListed:
    common = entry.model_dump(include={"platform_name", "applicant_name", "applicant_credit_code", "region_code",
                                       "city_code", "platform_type", "clusters", "service_kinds", "listed_on",
                                       "previous_entry_id", "application_id", "round_id"})
    common["listed_at"] = now
    if entry.certificate_no and entry.accredited_on:
        return PlatformAccredited(**common, platform_id=entry.id, certificate_no=entry.certificate_no,
                                  accredited_on=entry.accredited_on)
    return PlatformCultivationListed(**common, platform_id=entry.id)


async def entry_ids(deps: Deps, finals: list[FinalDecision]) -> list[str]:
    """The registry entries the final decisions made."""
    entries = [await deps.repo.entry(f"P-{f.application_id}") for f in finals]
    return [e.id for e in entries if e is not None]
