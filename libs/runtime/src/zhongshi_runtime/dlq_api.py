"""`/api/v1/dlq`, which `ServiceKit` adds to every service: its own consumer group's dead letters and parked
events — list (by topic, reason and time), show, redrive one or every match (operators only; each redrive is
audited). `zhongshi dlq` calls these routes on every service."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel
from pymongo import ASCENDING
from zhongshi_contracts.catalog import FULL_TYPES
from zhongshi_contracts.privacy import public_data

from zhongshi_runtime.audit import Audit
from zhongshi_runtime.audit_api import _instant
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.dead_letters import DeadLetter, DeadLetterLedger, Status
from zhongshi_runtime.errors import errors
from zhongshi_runtime.logs import mask_personal_data
from zhongshi_runtime.outbox import Session, UnitOfWork
from zhongshi_runtime.paging import Offset

Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
REDRIVE_LIMIT = 1000  # one bulk redrive; narrow the filter for more
NOT_DEAD = "只能重投仍在死信队列中的事件（等待中的事件随其前序事件自动重投）"


class DeadLetterDetail(DeadLetter):
    """The ledger's entry with its message: headers, and the body as an operator may read it (`readable_body`;
    the redrive sends the stored bytes)."""

    headers: dict[str, str]
    body: str


class DeadLetterPage(BaseModel):
    total: int
    items: list[DeadLetter]


class Redriven(BaseModel):
    redriven: list[str]


class DeadLetterFilter:
    """The filters as query parameters, and as a MongoDB query."""

    def __init__(
        self,
        topic: str | None = None,
        reason: Annotated[str | None, Query(max_length=200, description="Text the reason contains.")] = None,
        kind: str | None = None,
        status_: Annotated[Status | None, Query(alias="status", description="Default: dead and parked.")] = None,
        since: Annotated[datetime | None, Query(description="Failed at or after (ISO 8601).")] = None,
        until: Annotated[datetime | None, Query(description="Failed before (ISO 8601).")] = None,
    ) -> None:
        self.query: dict[str, Any] = {"status": status_.value if status_ else {"$in": [Status.DEAD, Status.PARKED]}}
        self.query |= {k: v for k, v in {"topic": topic, "kind": kind}.items() if v is not None}
        if reason:
            self.query["reason"] = {"$regex": _escaped(reason), "$options": "i"}
        window = {k: _instant(v, name) for k, v, name in (("$gte", since, "since"), ("$lt", until, "until")) if v}
        if window:
            self.query["failed_at"] = window


CARRYING_PERSONAL_DATA = {m.ce_type(): m for m in FULL_TYPES if m.internal_topic is not None}


def readable_body(body: bytes, ce_type: str) -> str:
    """What an operator reads of a dead letter's body: an event carrying personal fields (a contact, who sits
    on a panel) as its public fields only, when it parses; any text with contacts and ID numbers masked."""
    model = CARRYING_PERSONAL_DATA.get(ce_type)
    if model is not None:
        with contextlib.suppress(ValueError):
            body = json.dumps(public_data(model.model_validate_json(body)), ensure_ascii=False).encode()
    return mask_personal_data(body.decode(errors="replace"))


def _escaped(text: str) -> str:
    return "".join(f"\\{c}" if not c.isalnum() else c for c in text)


def dlq_router(ledger: DeadLetterLedger, uow: UnitOfWork, wake: Any) -> APIRouter:
    api = APIRouter(prefix="/api/v1/dlq", tags=["operations"])

    @api.get("", summary="This service's dead letters and parked events, oldest first (operator)")
    async def listing(_: Operator, where: Annotated[DeadLetterFilter, Depends()], offset: Offset = 0,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100) -> DeadLetterPage:
        total = await ledger.db.dead_letters.count_documents(where.query)
        cursor = ledger.db.dead_letters.find(where.query, {"body": 0, "headers": 0}).sort("seq", ASCENDING)
        return DeadLetterPage(total=total, items=[DeadLetter.model_validate(d)
                                                  async for d in cursor.skip(offset).limit(limit)])

    @api.get("/{entry_id}", summary="One dead letter with its headers and body (operator)", responses=errors(404))
    async def show(entry_id: str, _: Operator) -> DeadLetterDetail:
        doc = await ledger.db.dead_letters.find_one({"_id": entry_id})
        if doc is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "死信不存在")
        body = readable_body(bytes(doc["body"]), doc.get("headers", {}).get("ce_type", ""))
        return DeadLetterDetail.model_validate({**doc, "body": body})

    async def redrive(entry_id: str, principal: Principal, request: Request) -> None:
        async def work(session: Session) -> list[Any]:
            if await ledger.redrive(entry_id, session) is None:
                raise HTTPException(status.HTTP_409_CONFLICT, NOT_DEAD)
            return []

        await uow.run(work, audit=Audit.request(principal, request, "dlq.redrive", "dead_letter", entry_id))
        wake()  # the outbox relay publishes it now

    @api.post("/{entry_id}/redrive", summary="Republish one dead letter to its source topic (operator)",
              responses=errors(404, 409))
    async def redrive_one(entry_id: str, principal: Operator, request: Request) -> Redriven:
        if await ledger.db.dead_letters.count_documents({"_id": entry_id}) == 0:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "死信不存在")
        await redrive(entry_id, principal, request)
        return Redriven(redriven=[entry_id])

    @api.post("/redrive", summary="Republish every dead letter matching the filters, oldest first (operator)")
    async def redrive_matching(principal: Operator, request: Request,
                               where: Annotated[DeadLetterFilter, Depends()]) -> Redriven:
        query = {**where.query, "status": Status.DEAD.value}  # parked ones follow their head
        ids = [d["_id"] async for d in ledger.db.dead_letters.find(query, {"_id": 1}).sort("seq", ASCENDING)
               .limit(REDRIVE_LIMIT)]
        done = []
        for entry_id in ids:
            try:
                await redrive(entry_id, principal, request)
            except HTTPException:  # redriven meanwhile (another operator, another replica)
                continue
            done.append(entry_id)
        return Redriven(redriven=done)

    return api
