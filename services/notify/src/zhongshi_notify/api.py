"""Notify's HTTP API: the inbox, channel preferences and the officials' directory; with the routes' shared
parts (the callers' roles and the use cases' `Deps`, `app.state.deps`, set by the factory). Webhook
subscriptions are in `webhooks_api`, the public contact verification in `api_verification`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from zhongshi_contracts.reference import hubei_cities, hubei_counties
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import OFFICIALS, Principal, Role, current_principal, require
from zhongshi_runtime.errors import errors
from zhongshi_runtime.paging import Offset

from zhongshi_notify import service
from zhongshi_notify.domain import PROVINCE, Audience, reader
from zhongshi_notify.planning import Contact, Preferences
from zhongshi_notify.service import Deps

Limit = Annotated[int, Query(ge=1, le=200)]

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_PATTERN = r"^[0-9+\-() ]{5,20}$"

router = APIRouter(prefix="/api/v1")
SignedIn = Annotated[Principal, Depends(current_principal)]
Recipient = Annotated[Principal, Depends(require(Role.APPLICANT, Role.COUNTY_OFFICIAL, Role.CITY_OFFICIAL,
                                                 Role.PROVINCE_OFFICIAL, Role.EXPERT))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
DirectoryKeeper = Annotated[Principal, Depends(require(Role.OPERATOR, Role.PROVINCE_OFFICIAL))]


def deps(request: Request) -> Deps:
    """The use cases' dependencies, put on the app by app.py (`app.state.deps`)."""
    return cast(Deps, request.app.state.deps)


Wired = Annotated[Deps, Depends(deps)]


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


def known_scope(scope: str) -> str:
    """The path's scope when it is Hubei's province, a city or a county code; 422 naming it otherwise."""
    if scope != PROVINCE and scope not in hubei_cities() and scope not in hubei_counties():
        raise RequestValidationError([{"loc": ("path", "scope"), "type": "value_error",
                                       "msg": f"{scope} 不是湖北省、市州或县级行政区划代码"}])
    return scope


@router.get("/inbox", tags=["inbox"], summary="My messages, newest first, with the unread count")
async def inbox(principal: SignedIn, deps: Wired, offset: Offset = 0, limit: Limit = 50) -> InboxPage:
    unread, items = await deps.repo.inbox(reader_of(principal), offset=offset, limit=limit)
    return InboxPage(unread=unread, items=[InboxItem.model_validate(m.model_dump()) for m in items])


@router.post("/inbox/{message_id:path}/read", tags=["inbox"], summary="Mark one of my messages read",
             responses=errors(404))
async def mark_read(message_id: str, principal: SignedIn, request: Request, deps: Wired) -> dict[str, bool]:
    audit = Audit.request(principal, request, "inbox.read", "message", message_id)
    await service.mark_read(deps, message_id, reader_of(principal), audit)
    return {"read": True}


@router.get("/preferences", tags=["preferences"], summary="My channels besides the inbox")
async def my_preferences(principal: Recipient, deps: Wired) -> Preferences:
    return await deps.repo.preferences(reader_of(principal))


@router.put("/preferences", tags=["preferences"], summary="Choose my channels (the inbox is always kept)")
async def set_preferences(body: Preferences, principal: Recipient, request: Request, deps: Wired
                          ) -> Preferences:
    audit = Audit.request(principal, request, "preferences.set", "preferences", reader_of(principal))
    await service.set_preferences(deps, reader_of(principal), body, audit)
    return body


@router.put("/contacts/{scope}", tags=["directory"],
            summary="Set a department's e-mail and mobile (operator, province)")
async def set_contact(scope: str, body: DirectoryEntry, principal: DirectoryKeeper, request: Request,
                      deps: Wired) -> DirectoryEntry:
    audit = Audit.request(principal, request, "contact.set", "contact", known_scope(scope))  # no addresses
    await service.set_contact(deps, scope, Contact.model_validate(body.model_dump()), audit)
    return body


@router.get("/contacts/{scope}", tags=["directory"], summary="A department's notice addresses (operator, province)",
            responses=errors(404))
async def get_contact(scope: str, _: DirectoryKeeper, deps: Wired) -> DirectoryEntry:
    found = await service.contact(deps, known_scope(scope))
    return DirectoryEntry.model_validate(found.model_dump())

