"""`GET /api/v1/audit` and its CSV/XLSX export, which `ServiceKit` adds to every service (province officials
and operators only). The trail is read-only: there is no route that updates or deletes a record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from zhongshi_runtime.audit import EXPERT_ROLE, Audit, AuditRecord, loaded
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.outbox import UnitOfWork, record_read
from zhongshi_runtime.paging import Offset
from zhongshi_runtime.tables import Table, csv_bytes, xlsx_bytes

EXPORT_LIMIT = 50_000  # one export; narrow the filter for more
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = ["时间", "服务", "操作人", "姓名", "角色", "单位", "操作", "对象类型", "对象", "申报编号", "批次",
           "理由或意见", "请求编号", "事件编号", "结果"]

Auditor = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL, Role.OPERATOR))]


class AuditPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[AuditRecord]


class AuditFilter:
    """The audit API's filters as query parameters, and as a MongoDB query."""

    def __init__(
        self,
        application_id: str | None = None,
        actor: Annotated[str | None, Query(description="The actor's subject (`sub`).")] = None,
        action: str | None = None,
        target: Annotated[str | None, Query(description="The target's id (application, round, expert, ...).")] = None,
        from_: Annotated[datetime | None, Query(alias="from", description="Inclusive, ISO 8601.")] = None,
        to: Annotated[datetime | None, Query(description="Exclusive, ISO 8601.")] = None,
    ) -> None:
        self.query: dict[str, Any] = {k: v for k, v in {
            "application_ids": application_id, "actor_subject": actor, "action": action, "target_id": target,
        }.items() if v is not None}
        window = {k: _instant(v, name) for k, v, name in (("$gte", from_, "from"), ("$lt", to, "to")) if v is not None}
        if window:
            self.query["at"] = window


def readable(reader: Principal, where: AuditFilter) -> dict[str, Any]:
    """The filter's query for ``reader``: an operator filtering by actor finds no record that names experts
    (else asking for an expert's id would tell what that expert did)."""
    if reader.role is Role.PROVINCE_OFFICIAL or "actor_subject" not in where.query:
        return where.query
    return {**where.query, "actor_role": {"$ne": EXPERT_ROLE}, "confidential": {"$ne": True}}


def _instant(value: datetime, name: str) -> datetime:
    """The instant in UTC (a time without an offset is taken as UTC); one beyond the calendar is bad input."""
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise RequestValidationError([{"loc": ("query", name), "msg": "时间超出可表示的范围",
                                       "type": "value_error"}]) from None


HIDDEN = "（保密：评审专家信息）"
EXPERT_FIELDS = ("actor_subject", "actor_name", "actor_organisation", "reason", "event_id", "outcome")


def shown_to(reader: Principal, record: AuditRecord) -> AuditRecord:
    """The record as ``reader`` may read it: who the experts are (a panel's members, an expert's own actions:
    who scored, declined or read what, and what they wrote) is for the province; an operator sees that it
    happened, not who or what (《湖北省制造业中试平台培育建设工作指引》 has the province organise the review; the
    panel is kept confidential)."""
    if reader.role is Role.PROVINCE_OFFICIAL or not record.names_experts:
        return record
    return record.model_copy(update=dict.fromkeys(EXPERT_FIELDS, HIDDEN))


def table(records: list[AuditRecord]) -> Table:
    rows = [[r.at.isoformat(), r.service, r.actor_subject, r.actor_name, r.actor_role, r.actor_organisation,
             r.action, r.target_kind, r.target_id, "、".join(r.application_ids), r.round_id or "", r.reason,
             r.request_id, r.event_id, r.outcome] for r in records]
    return HEADERS, rows


def audit_router(db: AsyncDatabase[Any], uow: UnitOfWork, service: str) -> APIRouter:
    api = APIRouter(prefix="/api/v1/audit", tags=["audit"])
    order = [("at", DESCENDING), ("seq", DESCENDING)]

    async def find(reader: Principal, where: AuditFilter, offset: int, limit: int) -> list[AuditRecord]:
        cursor = db.audit.find(readable(reader, where)).sort(order).skip(offset).limit(limit)
        return [shown_to(reader, loaded(d)) async for d in cursor]

    @api.get("", summary="Audit records, newest first (province officials and operators)")
    async def listing(
        reader: Auditor, where: Annotated[AuditFilter, Depends()],
        offset: Offset = 0, limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> AuditPage:
        total = await db.audit.count_documents(readable(reader, where))
        return AuditPage(total=total, offset=offset, limit=limit, items=await find(reader, where, offset, limit))

    @api.get("/export", summary="The filtered records as CSV or XLSX (formula cells neutralised)",
             responses={200: {"content": {"text/csv": {}, XLSX: {}}}})
    async def export(
        reader: Auditor, request: Request, where: Annotated[AuditFilter, Depends()],
        format: Literal["csv", "xlsx"] = "csv",
    ) -> Response:
        records = await find(reader, where, 0, EXPORT_LIMIT)  # who did what, by name: the export is audited
        await record_read(uow, Audit.request(reader, request, "audit.export", "audit_trail", service,
                                             outcome=f"{len(records)} 条"))
        name = f"audit-{service}.{format}"
        if format == "csv":
            body, media = csv_bytes(table(records)), "text/csv; charset=utf-8"
        else:
            body, media = xlsx_bytes(table(records), f"{service} 审计记录"), XLSX
        return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return api
