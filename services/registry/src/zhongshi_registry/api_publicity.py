"""Publicity (公示): the province opens it per round, anyone files a real-name objection in the window, the
province resolves objections and closes publicity, which lists platforms and cultivation objects."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
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
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import Session, UnitOfWork
from zhongshi_runtime.paging import Offset

from zhongshi_registry import domain
from zhongshi_registry.domain import Objection, ObjectionStatus, Publicity, Refused
from zhongshi_registry.entries import Entry, Status, new_entry
from zhongshi_registry.repository import RegistryRepository
from zhongshi_registry.settings import RegistrySettings
from zhongshi_registry.workdays import (
    INSTALLED,
    Calendar,
    CalendarNotCovered,
    HolidayNotice,
    HolidaySchedule,
    library_covers,
)

Province = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
Reason = Annotated[str, Field(min_length=2, max_length=2000)]


class OpenRequest(BaseModel):
    working_days: int | None = Field(None, ge=1, le=60, description="Default: REGISTRY_PUBLICITY_WORKING_DAYS (5).")


Year = Annotated[int, Path(ge=2000, le=2100, examples=[2027])]


class CalendarYear(BaseModel):
    year: int
    source: str = Field(description="The installed calendar's version, or the notice the entered schedule is from.")
    entered: HolidaySchedule | None = Field(None, description="The schedule entered for the year, if any.")


def conflict(message: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, message)


def public_objection(o: Objection) -> dict[str, Any]:
    """What anyone may see of an objection: no name, contact, grounds text or evidence."""
    return {"id": o.id, "application_id": o.application_id, "has_grounds": bool(o.grounds),
            "filed_at": o.filed_at, "status": o.status}


def router(repo: RegistryRepository, uow: UnitOfWork, clock: Clock, settings: RegistrySettings) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["publicity"])

    async def publicity_of(round_id: str) -> Publicity:
        found = await repo.publicity.get(round_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"批次 {round_id} 尚未公示")
        return found

    @api.post("/rounds/{round_id}/publicity", summary="Open the round's publicity (province)",
              responses=errors(409))
    async def open_publicity(round_id: str, body: OpenRequest, principal: Province, request: Request) -> Publicity:
        if await repo.publicity.get(round_id) is not None:
            raise conflict(f"批次 {round_id} 已公示")
        decisions = await repo.decisions.find(round_id=round_id)
        profiles = {p.application_id: p for p in await repo.profiles.find(round_id=round_id)}
        now = clock()
        calendar = Calendar(await repo.holidays.find())
        try:
            publicity = domain.open_publicity(round_id, decisions, profiles, shanghai_date(now),
                                              body.working_days or settings.publicity_working_days, now, calendar)
        except (Refused, CalendarNotCovered) as exc:
            raise conflict(str(exc)) from exc

        async def work(session: Session) -> list[Event]:
            if not await repo.publicity.add(round_id, publicity, session):
                raise conflict(f"批次 {round_id} 已公示")
            return [PublicityOpened(application_id=round_id, round_id=round_id, working_days=publicity.working_days,
                                    starts_on=publicity.starts_on, ends_on=publicity.ends_on,
                                    items=publicity.items, opened_at=now)]

        audit = Audit.request(principal, request, "publicity.open", "round", round_id, round_id=round_id,
                              outcome=f"{publicity.starts_on}至{publicity.ends_on}（{publicity.working_days}个工作日）")
        audit.touches(i.application_id for i in publicity.items)
        await uow.run(work, audit=audit)
        return publicity

    @api.get("/calendar/{year}", summary="A year's holiday schedule, installed or entered (province)",
             responses=errors(404))
    async def calendar_year(year: Year, _: Province) -> CalendarYear:
        entered = await repo.holidays.get(str(year))
        if library_covers(year):  # it wins over a schedule entered before it was installed
            return CalendarYear(year=year, source=INSTALLED, entered=entered)
        if entered is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(CalendarNotCovered(year)))
        return CalendarYear(year=year, source=entered.source, entered=entered)

    @api.put("/calendar/{year}", summary="Enter a year's holiday schedule from the State Council's notice, for a "
             "year the installed calendar does not cover (province)", responses=errors(409))
    async def enter_calendar(year: Year, body: HolidayNotice, principal: Province, request: Request
                             ) -> HolidaySchedule:
        if library_covers(year):
            raise conflict(f"{INSTALLED} 已包含 {year} 年节假日安排，以其为准")
        outside = body.outside(year)
        if outside:
            raise RequestValidationError([{"loc": ("body", *loc), "msg": f"日期不在 {year} 年", "type": "value_error"}
                                          for loc in outside])
        schedule = HolidaySchedule(**body.model_dump(), year=year, entered_by=principal.subject,
                                   entered_at=clock())
        async def work(session: Session) -> list[Event]:
            await repo.holidays.put(str(year), schedule, session)
            return []

        await uow.run(work, audit=Audit.request(principal, request, "calendar.enter", "calendar", str(year),
                                                reason=body.source))
        return schedule

    @api.get("/public/publicity/{round_id}", tags=["public"], summary="The publicity list (no login)",
             responses=errors(404))
    async def show(round_id: str, offset: Offset = 0, limit: Annotated[int, Query(ge=1, le=500)] = 100
                   ) -> dict[str, Any]:
        """The publicity with one page of its objections, oldest first (`objections_total` counts them all)."""
        publicity = await publicity_of(round_id)
        objections = sorted(await repo.objections.find(round_id=round_id), key=lambda o: (o.filed_at, o.id))
        return {**publicity.model_dump(mode="json"), "objections_total": len(objections),
                "objections": [public_objection(o) for o in objections[offset:offset + limit]]}

    @api.post("/rounds/{round_id}/publicity/close", summary="Close publicity: decisions become final (province)",
              responses=errors(404, 409))
    async def close(round_id: str, principal: Province, request: Request) -> dict[str, Any]:
        publicity = await publicity_of(round_id)
        objections = await repo.objections.find(round_id=round_id)
        now = clock()
        today = shanghai_date(now)
        try:
            finals = domain.final_decisions(publicity, objections, today)
        except Refused as exc:
            raise conflict(str(exc)) from exc

        accredited = sum(f.decision is Decision.ACCREDIT for f in finals)

        async def work(session: Session) -> list[Event]:
            current = await repo.publicity.get(round_id, session)
            if current is None or current.closed_at is not None:  # closed meanwhile by another request
                raise conflict("公示已结束")
            first = await repo.sequences.claim(certificate_sequence(today.year), accredited, session)
            sequence = iter(range(first, first + accredited))
            events: list[Event] = [await listed(f, today, now, sequence, session) for f in finals
                                   if f.decision is not Decision.DECLINE]
            await repo.publicity.put(round_id, publicity.model_copy(update={"closed_at": now}), session)
            outcomes = [ObjectionOutcome(objection_id=o.id, application_id=o.application_id,
                                         upheld=o.status is ObjectionStatus.UPHELD, reason=o.reason)
                        for o in objections]
            return [*events, PublicityClosed(application_id=round_id, round_id=round_id, closed_at=now,
                                             decisions=finals, objections=outcomes)]

        audit = Audit.request(principal, request, "publicity.close", "round", round_id, round_id=round_id,
                              outcome="；".join(f"{f.application_id}：{f.decision.value}" for f in finals))
        audit.touches(f.application_id for f in finals)
        await uow.run(work, audit=audit)
        entries = [await repo.entries.get(f"P-{f.application_id}") for f in finals]
        return {"round_id": round_id, "decisions": [f.model_dump(mode="json") for f in finals],
                "entries": [e.id for e in entries if e is not None]}

    async def listed(final: FinalDecision, today: date, now: datetime, sequence: Iterator[int],
                     session: Session) -> Event:
        decision = await repo.decisions.get(final.application_id, session)
        if decision is None:
            raise conflict(f"申报 {final.application_id} 的评审结果缺失")
        accredit = final.decision is Decision.ACCREDIT
        previous = await earlier_entry(decision.applicant_credit_code)
        number = None
        if accredit:
            number = domain.certificate_number(settings.format_for(decision.round_id), today.year, next(sequence))
        entry = new_entry(decision, await repo.profiles.get(final.application_id, session), accredit=accredit,
                          listed_on=today, now=now, certificate_no=number, previous=previous)
        await repo.entries.put(entry.id, entry, session)
        if previous is not None and accredit:
            await repo.entries.put(previous.id, previous.noted(now, "accredited_later", entry.id,
                                                               status=Status.UPGRADED, next_entry_id=entry.id), session)
        return event_of(entry, now)

    async def earlier_entry(credit_code: str) -> Entry | None:
        cultivated = [e for e in await repo.entries.find(applicant_credit_code=credit_code)
                      if e.status is Status.CULTIVATION]
        return max(cultivated, key=lambda e: e.listed_on, default=None)

    return api


def certificate_sequence(year: int) -> str:
    """Certificate numbers run in one sequence per accreditation year, across rounds."""
    return f"certificate/{year}"


def event_of(entry: Entry, now: datetime) -> PlatformAccredited | PlatformCultivationListed:
    common = entry.model_dump(include={"platform_name", "applicant_name", "applicant_credit_code", "region_code",
                                       "city_code", "platform_type", "clusters", "service_kinds", "listed_on",
                                       "previous_entry_id", "application_id", "round_id"})
    common["listed_at"] = now
    if entry.certificate_no and entry.accredited_on:
        return PlatformAccredited(**common, platform_id=entry.id, certificate_no=entry.certificate_no,
                                  accredited_on=entry.accredited_on)
    return PlatformCultivationListed(**common, platform_id=entry.id)
