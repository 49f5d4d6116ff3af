"""Notify's HTTP API over in-memory fakes: the inbox, preferences, the directory and webhook subscriptions."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from zhongshi_notify import api, webhooks_api
from zhongshi_notify.deliveries import InMemoryDeliveryStore
from zhongshi_notify.egress import EgressGuard
from zhongshi_notify.notices import NOTIFIED_EVENTS
from zhongshi_notify.planning import Attempt, Channel, Delivery, InboxMessage, Status, Subscription
from zhongshi_notify.repository import InMemoryNotifyRepository
from zhongshi_notify.service import Deps
from zhongshi_runtime.auth import Role
from zhongshi_runtime.testing import InMemoryUnitOfWork, api_app, mint_test_token

from .samples import NOW, Clock

TOPICS = sorted(m.topic.name for m in NOTIFIED_EVENTS)
APPLICANT = (Role.APPLICANT, "91420111MA0000000W")
COUNTY = (Role.COUNTY_OFFICIAL, "420111")
OPERATOR = (Role.OPERATOR, "*")
PROVINCE = (Role.PROVINCE_OFFICIAL, "42")


class Client:
    def __init__(self, keys: Path, http: httpx.AsyncClient, repo: InMemoryNotifyRepository,
                 store: InMemoryDeliveryStore, uow: InMemoryUnitOfWork | None = None) -> None:
        self.keys, self.http, self.repo, self.store = keys, http, repo, store
        self.uow = uow or InMemoryUnitOfWork()

    async def call(self, who: tuple[Role, str] | None, method: str, path: str, **kw: Any) -> httpx.Response:
        token = mint_test_token(self.keys, role=who[0], organisation=who[1]) if who else ""
        headers = {"Authorization": f"Bearer {token}"} if who else {}
        return await self.http.request(method, path, headers=headers, **kw)


async def public_dns(host: str, port: int) -> list[str]:
    """gov.example is public; intranet.example resolves inside the network; nothing else resolves."""
    known = {"gov.example": "93.184.216.34", "intranet.example": "10.20.30.40"}
    if host not in known:
        raise OSError(host)
    return [known[host]]


def build(tmp_path: Path, repo: InMemoryNotifyRepository, store: InMemoryDeliveryStore, https_only: bool = False,
          uow: InMemoryUnitOfWork | None = None) -> FastAPI:
    app = api_app(tmp_path, api.router, webhooks_api.router)
    app.state.deps = Deps(repo, store, uow or InMemoryUnitOfWork(), Clock(), TOPICS, EgressGuard(resolver=public_dns),
                          https_only)
    return app


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    repo, store, uow = InMemoryNotifyRepository(), InMemoryDeliveryStore(), InMemoryUnitOfWork("notify")
    transport = httpx.ASGITransport(app=build(tmp_path, repo, store, uow=uow))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield Client(tmp_path, http, repo, store, uow)


def message(n: int, recipient: str) -> InboxMessage:
    return InboxMessage(id=f"ev{n}/{recipient}/inbox", recipient=recipient, title=f"标题{n}", body="正文",
                        application_id="A1", event_type="t", created_at=NOW.replace(minute=n))


async def test_the_inbox_lists_my_messages_newest_first_and_marks_them_read(client: Client) -> None:
    await client.repo.add_inbox([message(1, f"applicant:{APPLICANT[1]}"), message(2, f"applicant:{APPLICANT[1]}"),
                                 message(3, "official:420111")])
    page = (await client.call(APPLICANT, "GET", "/api/v1/inbox")).json()
    assert page["unread"] == 2 and [m["title"] for m in page["items"]] == ["标题2", "标题1"]
    assert set(page["items"][0]) == {"id", "title", "body", "read", "application_id", "event_type", "created_at"}
    first = page["items"][1]["id"]
    assert (await client.call(APPLICANT, "POST", f"/api/v1/inbox/{first}/read")).json() == {"read": True}
    assert (await client.call(APPLICANT, "GET", "/api/v1/inbox?limit=1")).json()["unread"] == 1
    assert (await client.call(COUNTY, "POST", f"/api/v1/inbox/{first}/read")).status_code == 404  # not theirs
    assert (await client.call(None, "GET", "/api/v1/inbox")).status_code == 401
    assert (await client.call(COUNTY, "GET", "/api/v1/inbox")).json()["unread"] == 1
    [read] = client.uow.audit  # the county's 404 left nothing
    assert (read.action, read.target_id, read.actor_subject) == ("inbox.read", first, f"applicant:{APPLICANT[1]}")


async def test_preferences_belong_to_the_callers_scope(client: Client) -> None:
    assert (await client.call(APPLICANT, "GET", "/api/v1/preferences")).json() == {"email": True, "sms": True}
    r = await client.call(APPLICANT, "PUT", "/api/v1/preferences", json={"email": True, "sms": False})
    assert r.status_code == 200
    assert (await client.repo.preferences(f"applicant:{APPLICANT[1]}")).sms is False
    assert (await client.call(COUNTY, "GET", "/api/v1/preferences")).json()["sms"] is True
    assert (await client.call(OPERATOR, "GET", "/api/v1/preferences")).status_code == 403
    bad = await client.call(APPLICANT, "PUT", "/api/v1/preferences", json={"sms": "sometimes"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "sms"]
    [chosen] = client.uow.audit
    assert (chosen.action, chosen.target_id, chosen.outcome) == (
        "preferences.set", f"applicant:{APPLICANT[1]}", "email")


async def test_an_expert_whose_id_is_a_city_code_reads_only_their_own_inbox(client: Client) -> None:
    await client.repo.add_inbox([message(1, "official:420100"), message(2, "expert:420100")])
    expert, city = (Role.EXPERT, "420100"), (Role.CITY_OFFICIAL, "420100")
    assert [m["title"] for m in (await client.call(expert, "GET", "/api/v1/inbox")).json()["items"]] == ["标题2"]
    assert [m["title"] for m in (await client.call(city, "GET", "/api/v1/inbox")).json()["items"]] == ["标题1"]
    assert (await client.call(expert, "POST", "/api/v1/inbox/ev1/official:420100/inbox/read")).status_code == 404
    await client.call(expert, "PUT", "/api/v1/preferences", json={"email": False, "sms": False})
    assert (await client.call(city, "GET", "/api/v1/preferences")).json() == {"email": True, "sms": True}
    # a county official cannot read the city's inbox by claiming its code, nor a city official the province's
    assert (await client.call((Role.COUNTY_OFFICIAL, "420100"), "GET", "/api/v1/inbox")).json()["items"] == []


async def test_the_directory_is_kept_by_operators_and_the_province(client: Client) -> None:
    entry = {"name": "武汉市经信局科技处", "email": "kjc@wh.gov.cn", "phone": "027-12345678"}
    for who in (OPERATOR, PROVINCE):
        assert (await client.call(who, "PUT", "/api/v1/contacts/420100", json=entry)).status_code == 200
    assert (await client.call(PROVINCE, "GET", "/api/v1/contacts/420100")).json() == entry
    assert (await client.repo.directory_entry("420100")).email == "kjc@wh.gov.cn"
    assert (await client.call(COUNTY, "PUT", "/api/v1/contacts/420111", json=entry)).status_code == 403
    assert (await client.call(OPERATOR, "GET", "/api/v1/contacts/420111")).status_code == 404
    unknown = await client.call(OPERATOR, "PUT", "/api/v1/contacts/110000", json=entry)
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["path", "scope"]
    bad = await client.call(OPERATOR, "PUT", "/api/v1/contacts/420100", json={**entry, "email": "no-at-sign"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "email"]
    assert [(r.action, r.target_id, r.actor_role) for r in client.uow.audit] == [
        ("contact.set", "420100", "operator"), ("contact.set", "420100", "province_official")]
    assert all("kjc@wh.gov.cn" not in r.model_dump_json() for r in client.uow.audit)  # no addresses in the trail


async def test_an_operator_registers_a_webhook_and_sees_the_secret_once(client: Client) -> None:
    body = {"url": "https://gov.example/hook", "event_types": ["pilot.application.forwarded"], "description": "省政务"}
    created = await client.call(OPERATOR, "POST", "/api/v1/webhooks", json=body)
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["secret"].startswith("whsec_") and len(base64.b64decode(sub["secret"][6:])) == 32
    assert sub["enabled"] is True and sub["event_types"] == ["pilot.application.forwarded"]
    [listed] = (await client.call(OPERATOR, "GET", "/api/v1/webhooks")).json()
    assert listed["id"] == sub["id"] and "secret" not in listed
    assert (await client.call(PROVINCE, "GET", "/api/v1/webhooks")).status_code == 403
    own = {**body, "secret": "whsec_" + base64.b64encode(b"k" * 24).decode()}
    assert (await client.call(OPERATOR, "POST", "/api/v1/webhooks", json=own)).json()["secret"] == own["secret"]


@pytest.mark.parametrize(("change", "loc"), [
    ({"event_types": ["pilot.application.forwarded", "pilot.platform.annual-report-filed"]},
     ["body", "event_types", 1]),
    ({"event_types": []}, ["body", "event_types"]),
    ({"url": "ftp://gov.example/hook"}, ["body", "url"]),
    ({"secret": "whsec_c2hvcnQ="}, ["body", "secret"]),
    ({"secret": "not-a-secret"}, ["body", "secret"]),
])
async def test_a_bad_subscription_is_refused_naming_the_field(
    client: Client, change: dict[str, Any], loc: list[str | int]
) -> None:
    body = {"url": "https://gov.example/hook", "event_types": ["pilot.application.forwarded"], **change}
    r = await client.call(OPERATOR, "POST", "/api/v1/webhooks", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc
    assert client.store.subs == {} and client.uow.audit == []


async def test_production_accepts_only_https_callbacks(tmp_path: Path) -> None:
    repo, store = InMemoryNotifyRepository(), InMemoryDeliveryStore()
    transport = httpx.ASGITransport(app=build(tmp_path, repo, store, https_only=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        c = Client(tmp_path, http, repo, store)
        body = {"url": "http://gov.example/hook", "event_types": ["pilot.application.forwarded"]}
        r = await c.call(OPERATOR, "POST", "/api/v1/webhooks", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "url"]


async def test_the_operator_enables_a_subscription_and_reads_its_delivery_log(client: Client) -> None:
    body = {"url": "https://gov.example/hook", "event_types": ["pilot.application.forwarded"]}
    sub_id = (await client.call(OPERATOR, "POST", "/api/v1/webhooks", json=body)).json()["id"]
    await client.store.subscription_failed(sub_id, 1, NOW)
    for n, outcome in [(1, "retry"), (2, "sent")]:
        await client.store.log_attempt(Attempt(
            delivery_id=f"e/{sub_id}/webhook", source_id="e", channel=Channel.WEBHOOK, recipient=sub_id, kind="t",
            attempt=n, at=NOW.replace(second=n), outcome=outcome, status_code=503 if n == 1 else 200,
            duration_ms=3.0))
    log = (await client.call(OPERATOR, "GET", f"/api/v1/webhooks/{sub_id}/deliveries")).json()
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in log] == [(2, "sent", 200), (1, "retry", 503)]
    enabled = (await client.call(OPERATOR, "POST", f"/api/v1/webhooks/{sub_id}/enable")).json()
    assert enabled["enabled"] is True and enabled["consecutive_failures"] == 0 and "secret" not in enabled
    assert (await client.call(OPERATOR, "POST", "/api/v1/webhooks/nope/enable")).status_code == 404
    assert (await client.call(OPERATOR, "GET", "/api/v1/webhooks/nope/deliveries")).status_code == 404
    assert (await client.call(COUNTY, "GET", f"/api/v1/webhooks/{sub_id}/deliveries")).status_code == 403
    assert [(r.action, r.target_id) for r in client.uow.audit] == [("webhook.register", sub_id),
                                                                    ("webhook.enable", sub_id)]


@pytest.mark.parametrize("url", ["http://127.0.0.1:8001/api/v1/applications", "http://169.254.169.254/latest/",
                                 "https://intranet.example/hook", "http://review:8003/", "https://nowhere.example/"])
async def test_a_subscription_to_an_internal_or_unresolvable_address_is_refused(client: Client, url: str) -> None:
    body = {"url": url, "event_types": ["pilot.application.forwarded"]}
    r = await client.call(OPERATOR, "POST", "/api/v1/webhooks", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "url"], r.text
    assert client.store.subs == {} and client.uow.audit == []


async def test_the_operator_rotates_a_secret_and_deletes_a_subscription(client: Client) -> None:
    body = {"url": "https://gov.example/hook", "event_types": ["pilot.application.forwarded"]}
    created = (await client.call(OPERATOR, "POST", "/api/v1/webhooks", json=body)).json()
    assert (await client.call(PROVINCE, "POST", f"/api/v1/webhooks/{created['id']}/rotate-secret")).status_code == 403
    rotated = (await client.call(OPERATOR, "POST", f"/api/v1/webhooks/{created['id']}/rotate-secret")).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert client.store.subs[created["id"]].secret == rotated["secret"]
    await client.store.add([Delivery(id=f"e1/{created['id']}/webhook", source_id="e1", kind="t",
                                     channel=Channel.WEBHOOK, recipient=created["id"], address=body["url"], title="t",
                                     body="{}", application_id="A1", created_at=NOW, next_attempt_at=NOW)])
    assert (await client.call(PROVINCE, "DELETE", f"/api/v1/webhooks/{created['id']}")).status_code == 403
    assert (await client.call(OPERATOR, "DELETE", f"/api/v1/webhooks/{created['id']}")).json()["deleted"] is True
    assert (await client.call(OPERATOR, "DELETE", f"/api/v1/webhooks/{created['id']}")).status_code == 404
    assert (await client.call(OPERATOR, "GET", "/api/v1/webhooks")).json() == []
    [left] = await client.store.deliveries()
    assert left.status is Status.FAILED and left.last_error == "subscription deleted"  # never sent afterwards
    assert [r.action for r in client.uow.audit] == ["webhook.register", "webhook.rotate_secret", "webhook.delete"]
    assert all(rotated["secret"] not in r.model_dump_json() for r in client.uow.audit)


class HeldDuringTheEnable(InMemoryDeliveryStore):
    """A dispatcher that read the subscription as disabled holds a delivery while the enable's transaction runs,
    after it released what was held: the enable's own release cannot see it."""

    async def enable(self, subscription_id: str, now: datetime, session: Any = None) -> Subscription | None:
        enabled = await super().enable(subscription_id, now, session)
        held = next(iter(self.items.values())).model_copy(update={"status": Status.HELD})
        self.items[held.id] = held
        return enabled


async def test_a_delivery_held_while_the_subscription_is_enabled_is_released_after_it(tmp_path: Path) -> None:
    repo, store = InMemoryNotifyRepository(), HeldDuringTheEnable()
    transport = httpx.ASGITransport(app=build(tmp_path, repo, store))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        c = Client(tmp_path, http, repo, store)
        body = {"url": "https://gov.example/hook", "event_types": ["pilot.application.forwarded"]}
        sub_id = (await c.call(OPERATOR, "POST", "/api/v1/webhooks", json=body)).json()["id"]
        await store.subscription_failed(sub_id, 1, NOW)
        await store.add([Delivery(id=f"e1/{sub_id}/webhook", source_id="e1", kind="t", channel=Channel.WEBHOOK,
                                  recipient=sub_id, address="", title="t", body="b", application_id="A1",
                                  created_at=NOW, next_attempt_at=NOW)])
        assert (await c.call(OPERATOR, "POST", f"/api/v1/webhooks/{sub_id}/enable")).status_code == 200
    assert [d.status for d in await store.deliveries()] == [Status.PENDING]
