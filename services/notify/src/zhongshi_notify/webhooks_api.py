"""Notify's webhook subscriptions for outside systems (operator only): register, list, enable, delete, rotate
the signing secret, and the delivery log. A URL must reach a public address (`EgressGuard`)."""

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
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.clock import Clock
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import Session
from zhongshi_runtime.paging import Offset

from zhongshi_notify.deliveries import DeliveryStore
from zhongshi_notify.egress import EgressGuard, Refused
from zhongshi_notify.planning import Attempt, Subscription

Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Limit = Annotated[int, Query(ge=1, le=200)]
Audited = Callable[[Audit, Callable[[Session], Awaitable[object]]], Awaitable[None]]
SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
NOT_FOUND = "订阅不存在"


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


class SecretRotated(BaseModel):
    id: str
    secret: str = Field(description="The new signing secret; shown only now. The old one stops signing at once.")


def router(store: DeliveryStore, *, audited: Audited, topics: Sequence[str], clock: Clock, guard: EgressGuard,
           https_only: bool) -> APIRouter:
    api = APIRouter()

    @api.post("/webhooks", tags=["webhooks"], status_code=201, summary="Register a subscription (operator)")
    async def register(body: SubscriptionRequest, principal: Operator, request: Request) -> SubscriptionCreated:
        for i, name in enumerate(body.event_types):
            if name not in topics:
                raise _invalid(("event_types", i), f"{name} 不是本服务转发的事件类型（可选：{'、'.join(topics)}）")
        if https_only and body.url.scheme != "https":
            raise _invalid(("url",), "生产环境的回调地址须使用 https")
        try:
            await guard.check(str(body.url))
        except Refused as exc:
            raise _invalid(("url",), str(exc)) from None
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
                raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
            enabled.append(sub)

        await audited(Audit.request(principal, request, "webhook.enable", "webhook", subscription_id), change)
        return SubscriptionView.model_validate(_view(enabled[0]))

    @api.get("/webhooks/{subscription_id}/deliveries", tags=["webhooks"], responses=errors(404),
             summary="The subscription's delivery log: every attempt, newest first (operator)")
    async def delivery_log(subscription_id: str, _: Operator, offset: Offset = 0, limit: Limit = 50) -> list[Attempt]:
        if await store.subscription(subscription_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
        return await store.attempts(subscription_id, offset=offset, limit=limit)

    @api.delete("/webhooks/{subscription_id}", tags=["webhooks"], responses=errors(404),
                summary="Delete a subscription; its unsent deliveries fail (operator)")
    async def delete(subscription_id: str, principal: Operator, request: Request) -> dict[str, str | bool]:
        async def change(session: Session) -> None:
            if not await store.remove_subscription(subscription_id, session):
                raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)

        await audited(Audit.request(principal, request, "webhook.delete", "webhook", subscription_id), change)
        return {"id": subscription_id, "deleted": True}

    @api.post("/webhooks/{subscription_id}/rotate-secret", tags=["webhooks"], responses=errors(404),
              summary="Give a subscription a new signing secret, shown once (operator)")
    async def rotate(subscription_id: str, principal: Operator, request: Request) -> SecretRotated:
        secret = _secret(None)

        async def change(session: Session) -> None:
            if not await store.rotate_secret(subscription_id, secret, session):
                raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)

        await audited(Audit.request(principal, request, "webhook.rotate_secret", "webhook", subscription_id), change)
        return SecretRotated(id=subscription_id, secret=secret)

    return api
