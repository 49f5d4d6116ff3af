"""Development only: move the registry's clock forward so a sample round can pass its publicity window
(`zhongshi demo`). Mounted only when ZHONGSHI_ENV=development; the offset is kept in the database so a
restart keeps it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase
from zhongshi_contracts.events import Event
from zhongshi_contracts.inputs import CalendarDate
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.clock import DevelopmentClock, shanghai_date
from zhongshi_runtime.outbox import Session, UnitOfWork

Province = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
KEY = {"_id": "offset"}


class Travel(BaseModel):
    today: CalendarDate


async def restore(db: AsyncDatabase[Any], clock: DevelopmentClock) -> None:
    doc = await db.dev_clock.find_one(KEY)
    clock.offset_days = int(doc["days"]) if doc else 0


def router(db: AsyncDatabase[Any], clock: DevelopmentClock, uow: UnitOfWork) -> APIRouter:
    api = APIRouter(prefix="/api/v1/dev", tags=["development"])

    def shown() -> dict[str, Any]:
        return {"today": shanghai_date(clock()), "offset_days": clock.offset_days}

    @api.get("/clock", summary="The registry's current date (development only)")
    async def show(_: Province) -> dict[str, Any]:
        return shown()

    @api.put("/clock", summary="Move the registry's date forward (development only)")
    async def travel(body: Travel, principal: Province, request: Request) -> dict[str, Any]:
        try:
            days = clock.travel_to(body.today)
        except ValueError as exc:  # the project's 422: detail[].loc names the field
            raise RequestValidationError([{"loc": ("body", "today"), "msg": str(exc).removeprefix("today："),
                                           "type": "value_error"}]) from exc
        async def work(session: Session) -> list[Event]:
            await db.dev_clock.replace_one(KEY, {"days": days}, upsert=True, session=session)
            return []

        await uow.run(work, audit=Audit.request(principal, request, "dev.clock", "clock", "registry",
                                                outcome=f"{body.today}（+{days}天）"))
        return shown()

    return api
