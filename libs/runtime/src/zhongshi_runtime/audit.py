"""The audit trail (审计留痕): who changed what, when, why and with what outcome.

Each unit of work that changes state carries one `Audit` — built by the route from the caller, or by the
unit of work itself for a consumed event — and `MongoUnitOfWork.run` writes its `AuditRecord` in the same
transaction as the change: a change without its record, or a record without its change, cannot be committed.
Records are only ever inserted; no API updates or deletes them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from zhongshi_runtime.auth import Principal, Role

if TYPE_CHECKING:
    from fastapi import Request

    from zhongshi_runtime.outbox import Consumed

SERVICE_ROLE = "service"  # the actor of a consumed event: the service that applied it
EXPERT_ROLE = Role.EXPERT.value
REQUEST_ID_HEADER = "X-Request-ID"


class AuditRecord(BaseModel):
    """One audited state change, as stored and as the audit API returns it."""

    id: str
    seq: int = Field(description="Write order (nanoseconds); breaks ties between records of the same millisecond.")
    at: datetime
    service: str
    actor_subject: str = Field(description="The person's `sub`, or `service:<name>` for a consumed event.")
    actor_name: str = ""
    actor_role: str
    actor_organisation: str
    action: str = Field(examples=["application.submit"])
    target_kind: str = Field(examples=["application"])
    target_id: str
    application_ids: list[str] = Field(default_factory=list, description="The applications the change touched.")
    round_id: str | None = None
    reason: str = Field("", description="The reason, opinion or justification the actor gave.")
    request_id: str = ""
    event_id: str = ""
    outcome: str = "ok"
    confidential: bool = Field(False, description="Names review experts (a panel's members): shown in full to "
                               "province officials only, as is every record of an expert's own action.")

    @property
    def names_experts(self) -> bool:
        return self.confidential or self.actor_role == EXPERT_ROLE


@dataclass(frozen=True)
class Actor:
    """Who acts: a person for one organisation in one role, or a service applying an event."""

    subject: str
    role: str
    organisation: str
    name: str = ""

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.subject, principal.role.value, principal.organisation, principal.name)

    @classmethod
    def service(cls, name: str) -> Actor:
        return cls(f"service:{name}", SERVICE_ROLE, "zhongshi", name)


PUBLIC = Actor("public", "public", "public", "公众（未登录）")  # a public route's caller: no person is recorded


@dataclass
class Audit:
    """The audit of one unit of work; the work may refine it (the target's new id, the outcome, the
    applications it touched) before the record is written with the change."""

    actor: Actor
    action: str
    target_kind: str
    target_id: str
    application_ids: list[str] = field(default_factory=list)
    round_id: str | None = None
    reason: str = ""
    request_id: str = ""
    event_id: str = ""
    outcome: str = "ok"
    confidential: bool = False  # see `AuditRecord.confidential`

    @classmethod
    def request(cls, principal: Principal, request: Request, action: str, target_kind: str, target_id: str,
                **details: Any) -> Audit:
        """The audit of an HTTP request by ``principal``; the request id is the caller's X-Request-ID or new."""
        return cls(Actor.of(principal), action, target_kind, target_id, request_id=request_id(request), **details)

    @classmethod
    def public(cls, request: Request, action: str, target_kind: str, target_id: str, **details: Any) -> Audit:
        """The audit of a request to a public route (no login): the actor is the public, never personal data."""
        return cls(PUBLIC, action, target_kind, target_id, request_id=request_id(request), **details)

    @classmethod
    def consumed(cls, service: str, consumed: Consumed, **details: Any) -> Audit:
        """The audit of a consumed event, applied by ``service``: the action is the handler's name, the target
        the event's application (or its round, for an event keyed by the round) unless ``details`` say otherwise."""
        event, subject = consumed.about, consumed.event.subject
        keyed_by_round = event is not None and event.application_id == event.round_id
        defaults: dict[str, Any] = {
            "target_kind": "round" if keyed_by_round else "application", "target_id": subject,
            "application_ids": [] if keyed_by_round else [subject], "round_id": event.round_id if event else None,
        }
        return cls(Actor.service(service), consumed.handler, event_id=consumed.event.id, **{**defaults, **details})

    def touches(self, application_ids: Iterable[str]) -> None:
        """Add applications the change touched (a round's decision list, a panel draw)."""
        self.application_ids.extend(a for a in application_ids if a not in self.application_ids)

    def record(self, *, service: str, at: datetime, seq: int) -> AuditRecord:
        a = self.actor
        return AuditRecord(
            id=str(uuid.uuid4()), seq=seq, at=at, service=service, actor_subject=a.subject, actor_name=a.name,
            actor_role=a.role, actor_organisation=a.organisation, action=self.action, target_kind=self.target_kind,
            target_id=self.target_id, application_ids=self.application_ids, round_id=self.round_id,
            reason=self.reason, request_id=self.request_id, event_id=self.event_id, outcome=self.outcome,
            confidential=self.confidential,
        )


def request_id(request: Request) -> str:
    """The caller's X-Request-ID (trimmed), or a new one."""
    return request.headers.get(REQUEST_ID_HEADER, "")[:100] or str(uuid.uuid4())


def stored(record: AuditRecord) -> dict[str, Any]:
    doc = record.model_dump()
    doc["_id"] = doc.pop("id")
    return doc


def loaded(doc: dict[str, Any]) -> AuditRecord:
    return AuditRecord.model_validate({**doc, "id": doc["_id"]})


async def ensure_audit_indexes(db: AsyncDatabase[Any]) -> None:
    """One index per filter of the audit API, each ending in the sort order."""
    await db.audit.create_index([("at", DESCENDING), ("seq", DESCENDING)])
    for name in ("application_ids", "actor_subject", "action", "target_id"):
        await db.audit.create_index([(name, ASCENDING), ("at", DESCENDING), ("seq", DESCENDING)])
