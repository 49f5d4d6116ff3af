"""Development only: move the registry's clock forward so a sample round can pass its publicity window
(`zhongshi demo`). Mounted only when ZHONGSHI_ENV=development; the offset is kept in the database so a
restart keeps it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase
from zhongshi_contracts.inputs import CalendarDate
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.clock import DevelopmentClock, shanghai_date
from zhongshi_runtime.outbox import Outcome, Session, UnitOfWork

from zhongshi_registry.api import Province

KEY = {"_id": "offset"}
router = APIRouter(prefix="/api/v1/dev", tags=["development"])


class Travel(BaseModel):
    today: CalendarDate


@dataclass
class TimeMachine:
    """The development clock, where its offset is kept, and the unit of work that audits a move."""

    db: AsyncDatabase[Any]
    clock: DevelopmentClock
    uow: UnitOfWork

    async def restore(self) -> None:
        """Take up the offset kept before a restart."""
        doc = await self.db.dev_clock.find_one(KEY)
        self.clock.offset_days = int(doc["days"]) if doc else 0


def time_machine(request: Request) -> TimeMachine:
    """The development clock, put on the app by app.py (`app.state.time_machine`)."""
    return cast(TimeMachine, request.app.state.time_machine)


Machine = Annotated[TimeMachine, Depends(time_machine)]


def shown(clock: DevelopmentClock) -> dict[str, Any]:
    return {"today": shanghai_date(clock()), "offset_days": clock.offset_days}


async def travel_to(machine: TimeMachine, today: date, audit: Audit) -> int:
    """Move the clock to ``today`` and keep the offset, so a restart keeps it; the days moved."""
    try:
        days = machine.clock.travel_to(today)
    except ValueError as exc:  # the project's 422: detail[].loc names the field
        raise RequestValidationError([{"loc": ("body", "today"), "msg": str(exc).removeprefix("today："),
                                       "type": "value_error"}]) from exc

    async def work(session: Session) -> Outcome[int]:
        await machine.db.dev_clock.replace_one(KEY, {"days": days}, upsert=True, session=session)
        return Outcome(days)

    audit.outcome = f"{today}（+{days}天）"
    return await machine.uow.run(work, audit=audit)


@router.get("/clock", summary="The registry's current date (development only)")
async def show(_: Province, machine: Machine) -> dict[str, Any]:
    return shown(machine.clock)


@router.put("/clock", summary="Move the registry's date forward (development only)")
async def travel(body: Travel, principal: Province, request: Request, machine: Machine) -> dict[str, Any]:
    await travel_to(machine, body.today, Audit.request(principal, request, "dev.clock", "clock", "registry"))
    return shown(machine.clock)
