"""Notify's HTTP API: the inbox, channel preferences, the officials' directory, and webhook subscriptions
with their delivery log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from zhongshi_contracts.reference import hubei_cities, hubei_counties
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import OFFICIALS, Principal, Role, current_principal, require
from zhongshi_runtime.clock import Clock
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import Session, UnitOfWork
from zhongshi_runtime.paging import Offset

from zhongshi_notify import webhooks_api
from zhongshi_notify.deliveries import DeliveryStore
from zhongshi_notify.domain import PROVINCE, Audience, reader
from zhongshi_notify.egress import EgressGuard
from zhongshi_notify.planning import Contact, Preferences
from zhongshi_notify.repository import NotifyRepository

SignedIn = Annotated[Principal, Depends(current_principal)]
Recipient = Annotated[Principal, Depends(require(Role.APPLICANT, Role.COUNTY_OFFICIAL, Role.CITY_OFFICIAL,
                                                 Role.PROVINCE_OFFICIAL, Role.EXPERT))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
DirectoryKeeper = Annotated[Principal, Depends(require(Role.OPERATOR, Role.PROVINCE_OFFICIAL))]
Limit = Annotated[int, Query(ge=1, le=200)]

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_PATTERN = r"^[0-9+\-() ]{5,20}$"


class InboxItem(BaseModel):
    id: str
    title: str
    body: str
    read: bool
    application_id: str
    event_type: str
    created_at: datetime


class InboxPage(BaseModel):
    unread: int
    items: list[InboxItem]


class DirectoryEntry(BaseModel):
    """An official department's e-mail and mobile for notices (both optional: without them, inbox only)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, examples=["武汉市经信局科技处"])
    email: str | None = Field(None, pattern=EMAIL_PATTERN, max_length=200)
    phone: str | None = Field(None, pattern=PHONE_PATTERN)


def reader_of(principal: Principal) -> str:
    """The caller's inbox and preferences: role and organisation together, so an expert whose id is "420100" is
    not the Wuhan department; an official's level must fit the code (a department's officials share one)."""
    code = principal.organisation
    fits = {Role.PROVINCE_OFFICIAL: code == PROVINCE, Role.CITY_OFFICIAL: code in hubei_cities(),
            Role.COUNTY_OFFICIAL: code in hubei_counties()}
    if principal.role in OFFICIALS and fits[principal.role]:
        return reader(Audience.OFFICIAL, code)
    if principal.role in (Role.APPLICANT, Role.EXPERT):
        return reader(Audience(principal.role.value), code)
    return f"{principal.role.value}:{code}"  # nobody writes to these


def router(repo: NotifyRepository, store: DeliveryStore, *, uow: UnitOfWork, topics: Sequence[str], clock: Clock,
           https_only: bool = False, guard: EgressGuard | None = None) -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    scopes = {PROVINCE, *hubei_cities(), *hubei_counties()}

    async def audited(audit: Audit, change: Callable[[Session], Awaitable[object]]) -> None:
        """Make ``change`` in one transaction with its audit record."""
        async def work(session: Session) -> list[Any]:
            await change(session)
            return []

        await uow.run(work, audit=audit)

    @api.get("/inbox", tags=["inbox"], summary="My messages, newest first, with the unread count")
    async def inbox(principal: SignedIn, offset: Offset = 0, limit: Limit = 50) -> InboxPage:
        unread, items = await repo.inbox(reader_of(principal), offset=offset, limit=limit)
        return InboxPage(unread=unread, items=[InboxItem.model_validate(m.model_dump()) for m in items])

    @api.post("/inbox/{message_id:path}/read", tags=["inbox"], summary="Mark one of my messages read",
              responses=errors(404))
    async def mark_read(message_id: str, principal: SignedIn, request: Request) -> dict[str, bool]:
        async def change(session: Session) -> None:
            if not await repo.mark_read(message_id, reader_of(principal), session):
                raise HTTPException(status.HTTP_404_NOT_FOUND, "消息不存在")

        await audited(Audit.request(principal, request, "inbox.read", "message", message_id), change)
        return {"read": True}

    @api.get("/preferences", tags=["preferences"], summary="My channels besides the inbox")
    async def my_preferences(principal: Recipient) -> Preferences:
        return await repo.preferences(reader_of(principal))

    @api.put("/preferences", tags=["preferences"], summary="Choose my channels (the inbox is always kept)")
    async def set_preferences(body: Preferences, principal: Recipient, request: Request) -> Preferences:
        audit = Audit.request(principal, request, "preferences.set", "preferences", reader_of(principal),
                              outcome="、".join(sorted(c for c, on in body.model_dump().items() if on is True)))
        await audited(audit, lambda session: repo.set_preferences(reader_of(principal), body, session))
        return body

    def known_scope(scope: str) -> str:
        if scope not in scopes:
            raise RequestValidationError([{"loc": ("path", "scope"), "type": "value_error",
                                           "msg": f"{scope} 不是湖北省、市州或县级行政区划代码"}])
        return scope

    @api.put("/contacts/{scope}", tags=["directory"],
             summary="Set a department's e-mail and mobile (operator, province)")
    async def set_contact(scope: str, body: DirectoryEntry, principal: DirectoryKeeper, request: Request
                          ) -> DirectoryEntry:
        contact = Contact.model_validate(body.model_dump())
        audit = Audit.request(principal, request, "contact.set", "contact", known_scope(scope))  # no addresses
        await audited(audit, lambda session: repo.set_directory_entry(scope, contact, session))
        return body

    @api.get("/contacts/{scope}", tags=["directory"], summary="A department's notice addresses (operator, province)",
             responses=errors(404))
    async def get_contact(scope: str, _: DirectoryKeeper) -> DirectoryEntry:
        found = await repo.directory_entry(known_scope(scope))
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{scope} 尚未登记通知地址")
        return DirectoryEntry.model_validate(found.model_dump())

    api.include_router(webhooks_api.router(store, audited=audited, topics=topics, clock=clock,
                                           guard=guard or EgressGuard(), https_only=https_only))
    return api
