"""The operator's pages: notify's webhook subscriptions (register, delivery log, enable, rotate the secret, delete)
and each service's dead letters (list, show, redrive one or the selected ones)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from zhongshi_contracts.topics import ALL_TOPICS
from zhongshi_runtime.auth import Role

from zhongshi_console.auth import PageNotFound
from zhongshi_console.clients import BackendError, Backends
from zhongshi_console.deps import Wired
from zhongshi_console.roles import Caller, signed_in
from zhongshi_console.settings import SERVICES
from zhongshi_console.web import render, unless_refused

API = "/api/v1"
PAGE_SIZE = 50
Operator = Annotated[Caller, Depends(signed_in(Role.OPERATOR))]
SERVICE_LABELS = {"intake": "申报受理（intake）", "screening": "形式审查（screening）", "review": "专家评审（review）",
                  "registry": "认定登记（registry）", "notify": "消息通知（notify）"}
DLQ_STATUSES = {"dead": "死信", "parked": "等待前序事件", "redriven": "已重投"}
WEBHOOK_ACTIONS = {"enable": ("POST", "/enable"), "delete": ("DELETE", "")}
# The public event types (never pilot.internal.*); notify refuses, naming the field, one it does not forward.
EVENT_TYPES = tuple(t.name for t in ALL_TOPICS if not t.internal)


def subscription_of(form: FormData) -> dict[str, Any]:
    """The registration form as notify's subscription request (notify generates the secret)."""
    return {"url": str(form.get("url", "")).strip(), "description": str(form.get("description", "")).strip(),
            "event_types": [t for t in form.getlist("event_types") if t in EVENT_TYPES]}


def by_field(fields: dict[str, str]) -> dict[str, str]:
    """Notify's errors by form field: ``event_types.2`` is shown beside the event types."""
    found: dict[str, str] = {}
    for name, message in fields.items():
        found.setdefault(name.split(".")[0], message)
    return found


def service_of(name: str) -> str:
    """A service the console knows, or the 404 page (the name is part of the address)."""
    if name not in SERVICES:
        raise PageNotFound
    return name


api = APIRouter(include_in_schema=False)


async def subscriptions(request: Request, backends: Backends, caller: Caller, status_code: int = 200,
                        **extra: Any) -> HTMLResponse:
    found = await backends.call("notify", "GET", f"{API}/webhooks", caller.token)
    return render(request, "operator/webhooks.html", {"subscriptions": found, "event_types": EVENT_TYPES,
                                                      "form": {}, "errors": {}, **extra}, status_code)


@api.get("/operator/webhooks", response_class=HTMLResponse)
async def webhooks(request: Request, caller: Operator, backends: Wired) -> HTMLResponse:
    return await subscriptions(request, backends, caller)


@api.post("/operator/webhooks", response_class=HTMLResponse)
async def register(request: Request, caller: Operator, backends: Wired) -> HTMLResponse:
    """The generated secret is shown on this answer only, like a rotated one."""
    body = subscription_of(await request.form())
    created = await unless_refused(
        backends.call("notify", "POST", f"{API}/webhooks", caller.token, json=body),
        lambda exc: subscriptions(request, backends, caller, 422, form=body, error=exc.message,
                                  errors=by_field(exc.fields) or {"url": exc.message}), statuses=(422,))
    return await subscriptions(request, backends, caller, created=created)


@api.get("/operator/webhooks/{subscription_id}", response_class=HTMLResponse)
async def delivery_log(request: Request, subscription_id: str, caller: Operator, backends: Wired,
                       offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> HTMLResponse:
    found = await backends.call("notify", "GET", f"{API}/webhooks", caller.token)
    subscription = next((s for s in found if s["id"] == subscription_id), None)
    if subscription is None:
        raise PageNotFound
    attempts = await backends.call("notify", "GET", f"{API}/webhooks/{subscription_id}/deliveries", caller.token,
                                   params={"offset": offset, "limit": PAGE_SIZE})
    return render(request, "operator/webhook.html", {"s": subscription, "attempts": attempts, "offset": offset,
                                                     "page_size": PAGE_SIZE})


@api.post("/operator/webhooks/{subscription_id}/rotate", response_class=HTMLResponse)
async def rotate(request: Request, subscription_id: str, caller: Operator, backends: Wired) -> HTMLResponse:
    """The new secret is shown on this answer only (never kept by the console, never in an address)."""
    rotated = await backends.call("notify", "POST", f"{API}/webhooks/{subscription_id}/rotate-secret", caller.token)
    return await subscriptions(request, backends, caller, rotated=rotated)


@api.post("/operator/webhooks/{subscription_id}/{action}", response_class=HTMLResponse)
async def change(subscription_id: str, action: str, caller: Operator, backends: Wired) -> Response:
    if action not in WEBHOOK_ACTIONS:
        raise PageNotFound
    method, suffix = WEBHOOK_ACTIONS[action]
    await backends.call("notify", method, f"{API}/webhooks/{subscription_id}{suffix}", caller.token)
    return RedirectResponse("/operator/webhooks", status_code=303)


async def letters(request: Request, backends: Backends, caller: Caller, service: str, status: str, topic: str,
                  **extra: Any) -> HTMLResponse:
    chosen = [service_of(service)] if service else list(SERVICES)
    params = {k: v for k, v in {"status": status if status in DLQ_STATUSES else "", "topic": topic.strip(),
                                "limit": PAGE_SIZE}.items() if v}
    pages = {name: await backends.call(name, "GET", f"{API}/dlq", caller.token, params=params) for name in chosen}
    return render(request, "operator/dlq.html", {
        "pages": pages, "filters": {"service": service, "status": params.get("status", ""), "topic": topic},
        "labels": SERVICE_LABELS, "statuses": DLQ_STATUSES, "redriven": request.query_params.get("redriven"),
        **extra})


@api.get("/operator/dlq", response_class=HTMLResponse)
async def dead_letters(request: Request, caller: Operator, backends: Wired,
                       service: Annotated[str, Query(max_length=20)] = "",
                       status: Annotated[str, Query(max_length=20)] = "",
                       topic: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    return await letters(request, backends, caller, service, status, topic)


@api.post("/operator/dlq/{service}/redrive", response_class=HTMLResponse)
async def redrive_selected(request: Request, service: str, caller: Operator, backends: Wired) -> HTMLResponse:
    """Each selected letter through the service's one-letter redrive, each audited there; a letter redriven
    meanwhile is reported, not an error."""
    chosen = selected(await request.form())
    if not chosen:
        return await letters(request, backends, caller, service_of(service), "", "", error="请先勾选要重投的死信")
    done, refused = await redrive_each(backends, service_of(service), chosen, caller.token)
    return await letters(request, backends, caller, service, "", "", bulk={"done": done, "refused": refused})


@api.get("/operator/dlq/{service}/{entry_id}", response_class=HTMLResponse)
async def dead_letter(request: Request, service: str, entry_id: str, caller: Operator, backends: Wired) -> HTMLResponse:
    return await show_letter(request, backends, service_of(service), entry_id, caller)


async def show_letter(request: Request, backends: Backends, service: str, entry_id: str, caller: Caller,
                      status_code: int = 200, **extra: Any) -> HTMLResponse:
    letter = await backends.call(service, "GET", f"{API}/dlq/{entry_id}", caller.token)
    return render(request, "operator/dead_letter.html", {"d": letter, "service": service, "labels": SERVICE_LABELS,
                                                          "statuses": DLQ_STATUSES, **extra}, status_code)


@api.post("/operator/dlq/{service}/{entry_id}/redrive", response_class=HTMLResponse)
async def redrive(request: Request, service: str, entry_id: str, caller: Operator, backends: Wired) -> Response:
    await unless_refused(
        backends.call(service_of(service), "POST", f"{API}/dlq/{entry_id}/redrive", caller.token),
        lambda exc: show_letter(request, backends, service, entry_id, caller, 409, error=exc.message),
        statuses=(409,))
    return RedirectResponse(f"/operator/dlq?service={service}&redriven={entry_id}", status_code=303)


def selected(form: FormData) -> list[str]:
    """The ticked letters' ids, at most a page of them (an id is one path segment of the service's address)."""
    ids = [str(i).strip() for i in form.getlist("entry_ids")]
    return list(dict.fromkeys(i for i in ids if i.strip(".") and len(i) <= 200))[:PAGE_SIZE]


async def redrive_each(backends: Backends, service: str, ids: list[str], token: str
                       ) -> tuple[list[str], dict[str, str]]:
    """(the redriven ids, the refused ones with the service's reason), in the order selected."""
    done: list[str] = []
    refused: dict[str, str] = {}
    for entry_id in ids:
        try:
            await backends.call(service, "POST", f"{API}/dlq/{quote(entry_id, safe='')}/redrive", token)
        except BackendError as exc:
            if exc.status not in (404, 409):
                raise
            refused[entry_id] = exc.message
        else:
            done.append(entry_id)
    return done, refused
