"""Publicity (公示): the province opens it per round, anyone files a real-name objection in the window, the
province resolves objections and closes publicity, which lists platforms and cultivation objects."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.errors import NotFound, errors
from zhongshi_runtime.paging import Offset

from zhongshi_registry.api import Province, Wired
from zhongshi_registry.domain import Objection, Publicity
from zhongshi_registry.use_cases import publicity as use
from zhongshi_registry.workdays import INSTALLED, CalendarNotCovered, HolidayNotice, HolidaySchedule, library_covers

router = APIRouter(prefix="/api/v1", tags=["publicity"])
Year = Annotated[int, Path(ge=2000, le=2100, examples=[2027])]


class OpenRequest(BaseModel):
    working_days: int | None = Field(None, ge=1, le=60, description="Default: REGISTRY_PUBLICITY_WORKING_DAYS (5).")


class CalendarYear(BaseModel):
    year: int
    source: str = Field(description="The installed calendar's version, or the notice the entered schedule is from.")
    entered: HolidaySchedule | None = Field(None, description="The schedule entered for the year, if any.")


def public_objection(o: Objection) -> dict[str, Any]:
    """What anyone may see of an objection: no name, contact, grounds text or evidence."""
    return {"id": o.id, "application_id": o.application_id, "has_grounds": bool(o.grounds),
            "filed_at": o.filed_at, "status": o.status}


@router.post("/rounds/{round_id}/publicity", summary="Open the round's publicity (province)", responses=errors(409))
async def open_publicity(round_id: str, body: OpenRequest, principal: Province, request: Request, deps: Wired
                         ) -> Publicity:
    audit = Audit.request(principal, request, "publicity.open", "round", round_id, round_id=round_id)
    return await use.open_publicity(deps, round_id, body.working_days, audit)


@router.get("/calendar/{year}", summary="A year's holiday schedule, installed or entered (province)",
            responses=errors(404))
async def calendar_year(year: Year, _: Province, deps: Wired) -> CalendarYear:
    entered = await deps.repo.holiday_schedule(year)
    if library_covers(year):  # it wins over a schedule entered before it was installed
        return CalendarYear(year=year, source=INSTALLED, entered=entered)
    if entered is None:
        raise NotFound(str(CalendarNotCovered(year)))
    return CalendarYear(year=year, source=entered.source, entered=entered)


@router.put("/calendar/{year}", summary="Enter a year's holiday schedule from the State Council's notice, for a "
            "year the installed calendar does not cover (province)", responses=errors(409))
async def enter_calendar(year: Year, body: HolidayNotice, principal: Province, request: Request, deps: Wired
                         ) -> HolidaySchedule:
    if not library_covers(year) and (outside := body.outside(year)):
        raise RequestValidationError([{"loc": ("body", *loc), "msg": f"日期不在 {year} 年", "type": "value_error"}
                                      for loc in outside])
    schedule = HolidaySchedule(**body.model_dump(), year=year, entered_by=principal.subject, entered_at=deps.clock())
    audit = Audit.request(principal, request, "calendar.enter", "calendar", str(year), reason=body.source)
    return await use.enter_calendar(deps, schedule, audit)


@router.get("/public/publicity/{round_id}", tags=["public"], summary="The publicity list (no login)",
            responses=errors(404))
async def show(round_id: str, deps: Wired, offset: Offset = 0, limit: Annotated[int, Query(ge=1, le=500)] = 100
               ) -> dict[str, Any]:
    """The publicity with one page of its objections, oldest first (`objections_total` counts them all)."""
    publicity = await use.publicity_of(deps, round_id)
    objections = sorted(await deps.repo.objections_of_round(round_id), key=lambda o: (o.filed_at, o.id))
    return {**publicity.model_dump(mode="json"), "objections_total": len(objections),
            "objections": [public_objection(o) for o in objections[offset:offset + limit]]}


@router.post("/rounds/{round_id}/publicity/close", summary="Close publicity: decisions become final (province)",
             responses=errors(404, 409))
async def close(round_id: str, principal: Province, request: Request, deps: Wired) -> dict[str, Any]:
    audit = Audit.request(principal, request, "publicity.close", "round", round_id, round_id=round_id)
    finals = await use.close_publicity(deps, round_id, audit)
    return {"round_id": round_id, "decisions": [f.model_dump(mode="json") for f in finals],
            "entries": await use.entry_ids(deps, finals)}
