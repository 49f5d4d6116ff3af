"""Notify's HTTP API: the inbox, channel preferences, the officials' directory, and webhook subscriptions
with their delivery log."""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field
from zhongshi_contracts.reference import hubei_cities, hubei_counties
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import OFFICIALS, Principal, Role, current_principal, require
from zhongshi_runtime.clock import Clock
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import Session, UnitOfWork
from zhongshi_runtime.paging import Offset

from zhongshi_notify.deliveries import DeliveryStore
from zhongshi_notify.domain import PROVINCE, Audience, reader
from zhongshi_notify.planning import Attempt, Contact, Preferences, Subscription
from zhongshi_notify.repository import NotifyRepository

SignedIn = Annotated[Principal, Depends(current_principal)]
Recipient = Annotated[Principal, Depends(require(Role.APPLICANT, Role.COUNTY_OFFICIAL, Role.CITY_OFFICIAL,
                                                 Role.PROVINCE_OFFICIAL, Role.EXPERT))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
DirectoryKeeper = Annotated[Principal, Depends(require(Role.OPERATOR, Role.PROVINCE_OFFICIAL))]
Limit = Annotated[int, Query(ge=1, le=200)]

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_PATTERN = r"^[0-9+\-() ]{5,20}$"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret


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


class SubscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl
    event_types: list[str] = Field(min_length=1, examples=[["pilot.application.forwarded"]])
    secret: str | None = Field(None, description="whsec_<base64 of 24–64 bytes>; generated when omitted.")
    description: str = Field("", max_length=200)


class SubscriptionView(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    consecutive_failures: int
    created_at: datetime
    disabled_at: datetime | None


class SubscriptionCreated(SubscriptionView):
    secret: str = Field(description="The signing secret; shown only now.")


def _invalid(loc: tuple[str | int, ...], msg: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", *loc), "msg": msg, "type": "value_error"}])


def _secret(given: str | None) -> str:
    if given is None:
        return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    try:
        raw = base64.b64decode(given.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not given.startswith(SECRET_PREFIX) or not 24 <= len(raw) <= 64:
        raise _invalid(("secret",), "密钥须为 whsec_ 加 24–64 字节的 base64 编码")
    return given


def _view(sub: Subscription) -> dict[str, Any]:
    return sub.model_dump(exclude={"secret"})


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
           https_only: bool = False) -> APIRouter:
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

    @api.post("/webhooks", tags=["webhooks"], status_code=201, summary="Register a subscription (operator)")
    async def register(body: SubscriptionRequest, principal: Operator, request: Request) -> SubscriptionCreated:
        for i, name in enumerate(body.event_types):
            if name not in topics:
                raise _invalid(("event_types", i), f"{name} 不是本服务转发的事件类型（可选：{'、'.join(topics)}）")
        if https_only and body.url.scheme != "https":
            raise _invalid(("url",), "生产环境的回调地址须使用 https")
        sub = Subscription(id=f"wh-{uuid.uuid4().hex[:16]}", url=str(body.url), secret=_secret(body.secret),
                           event_types=sorted(set(body.event_types)), description=body.description,
                           created_at=clock())
        audit = Audit.request(principal, request, "webhook.register", "webhook", sub.id,
                              outcome="、".join(sub.event_types))
        await audited(audit, lambda session: store.add_subscription(sub, session))
        return SubscriptionCreated.model_validate(sub.model_dump())

    @api.get("/webhooks", tags=["webhooks"], summary="Every subscription, without secrets (operator)")
    async def subscriptions(_: Operator) -> list[SubscriptionView]:
        return [SubscriptionView.model_validate(_view(s)) for s in await store.subscriptions()]

    @api.post("/webhooks/{subscription_id}/enable", tags=["webhooks"], responses=errors(404),
              summary="Enable a subscription again and release its held deliveries (operator)")
    async def enable(subscription_id: str, principal: Operator, request: Request) -> SubscriptionView:
        enabled: list[Subscription] = []

        async def change(session: Session) -> None:
            sub = await store.enable(subscription_id, clock(), session)
            if sub is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "订阅不存在")
            enabled.append(sub)

        await audited(Audit.request(principal, request, "webhook.enable", "webhook", subscription_id), change)
        return SubscriptionView.model_validate(_view(enabled[0]))

    @api.get("/webhooks/{subscription_id}/deliveries", tags=["webhooks"], responses=errors(404),
             summary="The subscription's delivery log: every attempt, newest first (operator)")
    async def delivery_log(subscription_id: str, _: Operator, offset: Offset = 0, limit: Limit = 50) -> list[Attempt]:
        if await store.subscription(subscription_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "订阅不存在")
        return await store.attempts(subscription_id, offset=offset, limit=limit)

    return api
