"""Notify's webhook subscriptions for outside systems (operator only): register, list, enable, delete, rotate
the signing secret, and the delivery log. A URL must reach a public address (`EgressGuard`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.errors import errors
from zhongshi_runtime.paging import Offset

from zhongshi_notify import service
from zhongshi_notify.api import Operator, Wired
from zhongshi_notify.planning import Attempt, Subscription

Limit = Annotated[int, Query(ge=1, le=200)]

router = APIRouter(prefix="/api/v1", tags=["webhooks"])


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


class SecretRotated(BaseModel):
    id: str
    secret: str = Field(description="The new signing secret; shown only now. The old one stops signing at once.")


def _view(sub: Subscription) -> dict[str, Any]:
    return sub.model_dump(exclude={"secret"})


@router.post("/webhooks", status_code=201, summary="Register a subscription (operator)")
async def register(body: SubscriptionRequest, principal: Operator, request: Request, deps: Wired
                   ) -> SubscriptionCreated:
    audit = Audit.request(principal, request, "webhook.register", "webhook", "")
    sub = await service.register(deps, body.url, body.event_types, body.secret, body.description, audit)
    return SubscriptionCreated.model_validate(sub.model_dump())


@router.get("/webhooks", summary="Every subscription, without secrets (operator)")
async def subscriptions(_: Operator, deps: Wired) -> list[SubscriptionView]:
    return [SubscriptionView.model_validate(_view(s)) for s in await deps.store.subscriptions()]


@router.post("/webhooks/{subscription_id}/enable", responses=errors(404),
             summary="Enable a subscription again and release its held deliveries (operator)")
async def enable(subscription_id: str, principal: Operator, request: Request, deps: Wired) -> SubscriptionView:
    audit = Audit.request(principal, request, "webhook.enable", "webhook", subscription_id)
    return SubscriptionView.model_validate(_view(await service.enable(deps, subscription_id, audit)))


@router.get("/webhooks/{subscription_id}/deliveries", responses=errors(404),
            summary="The subscription's delivery log: every attempt, newest first (operator)")
async def delivery_log(subscription_id: str, _: Operator, deps: Wired, offset: Offset = 0, limit: Limit = 50
                       ) -> list[Attempt]:
    return await service.delivery_log(deps, subscription_id, offset, limit)


@router.delete("/webhooks/{subscription_id}", responses=errors(404),
               summary="Delete a subscription; its unsent deliveries fail (operator)")
async def delete(subscription_id: str, principal: Operator, request: Request, deps: Wired
                 ) -> dict[str, str | bool]:
    await service.delete(deps, subscription_id, Audit.request(principal, request, "webhook.delete", "webhook",
                                                                 subscription_id))
    return {"id": subscription_id, "deleted": True}


@router.post("/webhooks/{subscription_id}/rotate-secret", responses=errors(404),
             summary="Give a subscription a new signing secret, shown once (operator)")
async def rotate(subscription_id: str, principal: Operator, request: Request, deps: Wired) -> SecretRotated:
    audit = Audit.request(principal, request, "webhook.rotate_secret", "webhook", subscription_id)
    return SecretRotated(id=subscription_id, secret=await service.rotate(deps, subscription_id, audit))
