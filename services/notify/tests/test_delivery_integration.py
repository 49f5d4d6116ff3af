"""Notify end to end on a real MongoDB: events in, then real e-mail through SMTP (aiosmtpd), texts through a
local SMS gateway and signed webhooks to a local receiver that verifies them with the reference library."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from faststream.kafka import TestKafkaBroker
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import Event
from zhongshi_contracts.projections import public_event_id
from zhongshi_notify import api, handlers, webhooks_api
from zhongshi_notify.channels import EmailSender, SmsSender, WebhookSender
from zhongshi_notify.deliveries import MongoDeliveryStore
from zhongshi_notify.dispatcher import Dispatcher
from zhongshi_notify.egress import EgressGuard
from zhongshi_notify.metrics import NotifyMetrics
from zhongshi_notify.notices import NOTIFIED_EVENTS
from zhongshi_notify.planning import Channel, Contact, Delivery, RetryPolicy, SendResult, Status, Subscription
from zhongshi_notify.repository import MongoNotifyRepository
from zhongshi_notify.sealing import SecretBox
from zhongshi_notify.service import Deps
from zhongshi_notify.settings import NotifySettings
from zhongshi_notify.templates import Templates
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import utc_now
from zhongshi_runtime.logs import mask_personal_data
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import MongoUnitOfWork
from zhongshi_runtime.testing import HandlerHarness, api_app, envelope, mint_test_token

from zhongshi.polling import eventually

from .conftest import Mailbox, Receiver
from .samples import HANG_S, Clock, scheduled, screened, submitted

pytestmark = pytest.mark.integration
LOG = logging.getLogger("zhongshi.notify.test")
TOKEN = "gateway-token-for-tests"
LOOPBACK = EgressGuard(allow_private=True)  # the receivers run on 127.0.0.1


class Notify:
    """Notify's parts over one real database, as a running service wires them (the broker is FastStream's
    in-memory test broker: the stack's own notify already consumes the real topics)."""

    def __init__(self, db: Any, enabled: list[Channel], clock: Any = utc_now) -> None:
        self.db, self.clock = db, clock
        self.repo, self.store = MongoNotifyRepository(db), MongoDeliveryStore(db)
        self.runtime = RuntimeMetrics("notify")
        self.metrics = NotifyMetrics(self.runtime.registry)
        self.uow = MongoUnitOfWork(db.client, db, source="/zhongshi/notify", metrics=self.runtime,
                                   on_outbox=lambda: None)
        self.planner = handlers.Planner(self.repo, self.store, Templates.load(), enabled=enabled, clock=clock)

    async def publish(self, *events: Event) -> list[str]:
        """Consume ``events`` as a fresh notify process would; return their CloudEvent ids."""
        return await self.consume([envelope(e) for e in events])

    async def consume(self, messages: list[dict[str, Any]]) -> list[str]:
        harness = HandlerHarness(NotifySettings(handler_retry_backoff_s=0))
        handlers.register(harness.consumers, self.uow, self.planner, self.metrics)
        async with TestKafkaBroker(harness.ready()) as broker:
            for message in messages:
                await broker.publish(**message)
        assert harness.dead_letters == []
        return [m["headers"]["ce_id"] for m in messages]

    def dispatcher(self, senders: dict[Channel, Any], clock: Any = utc_now, **options: Any) -> Dispatcher:
        settings = {"policy": RetryPolicy(max_attempts=10, backoff_s=0), "lease_s": 30, "batch": 50,
                    "failure_threshold": 3, "metrics": self.metrics, "clock": clock, "logger": LOG, **options}
        return Dispatcher(self.store, senders, **settings)

    async def subscribe(self, url: str, *types: str) -> Subscription:
        sub = Subscription(id=f"wh-{secrets.token_hex(4)}", url=url, event_types=list(types),
                           secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(), created_at=utc_now())
        await self.store.add_subscription(sub)
        return sub

    def sample(self, name: str, **labels: str) -> float:
        return self.runtime.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def notify(mongo_db: Any) -> Notify:
    n = Notify(mongo_db, list(Channel))
    await n.repo.ensure_indexes()
    await n.store.ensure_indexes()
    return n


def email_sender(port: int, timeout_s: float = 5) -> EmailSender:
    return EmailSender(host="127.0.0.1", port=port, sender="湖北省制造业中试平台认定 <noreply@zhongshi.local>",
                       timeout_s=timeout_s)


async def until_sent(n: Notify, d: Dispatcher, expected: int) -> list[Any]:
    async def done() -> list[Any] | None:
        await d.run_once()
        sent = [x for x in await n.store.deliveries() if x.status is Status.SENT]
        return sent if len(sent) >= expected else None

    return await eventually(done, what=f"{expected} deliveries sent")


async def test_real_mail_texts_and_signed_webhooks_go_out_for_submit_and_screen(
    notify: Notify, make_dossier: Callable[..., Dossier], smtp_server: tuple[int, Mailbox],
    http_receiver: Callable[..., Awaitable[Receiver]], caplog: pytest.LogCaptureFixture
) -> None:
    port, mailbox = smtp_server
    gateway = await http_receiver("/sms/send")
    hooks = await http_receiver("/hooks/pilot")
    sub = await notify.subscribe(hooks.url, "pilot.application.submitted", "pilot.application.screened")
    hooks.secret = sub.secret
    await notify.repo.set_directory_entry("420111", Contact(name="洪山区经信局", email="hs@wh.gov.cn",
                                                            phone="13911112222"))
    d = make_dossier()
    ids = await notify.publish(submitted(d), screened(d))
    d_ = notify.dispatcher({Channel.EMAIL: email_sender(port), Channel.SMS: SmsSender(url=gateway.url, token=TOKEN),
                            Channel.WEBHOOK: WebhookSender(5, guard=LOOPBACK)})
    with caplog.at_level(logging.INFO, LOG.name):
        await until_sent(notify, d_, 8)

    subjects = sorted(m["subject"] for m in mailbox.messages)
    assert subjects == sorted([f"【湖北省中试平台认定】已收到“{d.platform.name}”的申报",
                               f"【湖北省中试平台认定】“{d.platform.name}”形式审查结果",
                               f"【湖北省中试平台认定】新申报待县级初审：“{d.platform.name}”"])
    to_applicant = next(m for m in mailbox.messages if "形式审查结果" in m["subject"])
    assert to_applicant["to"] == "pilot0@example.cn" and "已通过形式审查，进入县级初审" in to_applicant.get_content()
    assert to_applicant["from"].addresses[0].display_name == "湖北省制造业中试平台认定"
    texts = [json.loads(r.body) for r in gateway.requests]
    assert sorted(t["to"] for t in texts) == ["13802710000", "13802710000", "13911112222"]
    assert all(t["text"].startswith("【湖北中试平台】") for t in texts)
    assert all(mask_personal_data(t["text"]) == t["text"] for t in texts)  # no phone number inside a text
    assert {r.headers["authorization"] for r in gateway.requests} == {f"Bearer {TOKEN}"}
    assert all(r.headers["idempotency-key"] == t["id"] for r, t in zip(gateway.requests, texts, strict=True))

    assert [r.verified for r in hooks.requests] == [True, True]
    # the submission's webhook is its public projection's, under the id of its record on the public topic
    assert sorted(r.headers["webhook-id"] for r in hooks.requests) == sorted([public_event_id(ids[0]), ids[1]])
    for r in hooks.requests:
        payload = json.loads(r.body)
        assert payload["id"] == r.headers["webhook-id"] and "13802710000" not in r.body.decode()
        assert "pilot0@example.cn" not in r.body.decode()
    assert "138****0000" in caplog.text and "13802710000" not in caplog.text and "pilot0@" not in caplog.text

    assert [m.title for m in (await notify.repo.inbox(f"applicant:{d.applicant.credit_code}"))[1]] == [
        f"“{d.platform.name}”形式审查结果", f"已收到“{d.platform.name}”的申报"]
    assert notify.sample("zhongshi_notify_deliveries_total", channel="email", outcome="sent") == 3
    assert notify.sample("zhongshi_notify_delivery_seconds_count", channel="webhook") == 2


async def test_a_failing_receiver_is_retried_disabled_after_the_run_and_enabled_again(
    notify: Notify, make_dossier: Callable[..., Dossier], http_receiver: Callable[..., Awaitable[Receiver]],
    tmp_path: Path
) -> None:
    hooks = await http_receiver("/hooks")
    sub = await notify.subscribe(hooks.url, "pilot.application.submitted")
    hooks.secret, hooks.script = sub.secret, [1.0, 503, 503]  # a timeout, then two server errors
    [event_id] = await notify.publish(submitted(make_dossier()))
    d = notify.dispatcher({Channel.WEBHOOK: WebhookSender(0.3, guard=LOOPBACK)})

    async def disabled() -> bool:
        await d.run_once()
        found = await notify.store.subscription(sub.id)
        return found is not None and not found.enabled

    await eventually(disabled, what="subscription disabled")
    await d.run_once()
    [held] = await notify.store.deliveries(Channel.WEBHOOK)
    assert (held.status, held.attempts) == (Status.HELD, 3)
    assert notify.sample("zhongshi_notify_webhook_failures_total") == 3

    app = api_app(tmp_path, api.router, webhooks_api.router)
    app.state.deps = Deps(notify.repo, notify.store, notify.uow, utc_now, [m.topic.name for m in NOTIFIED_EVENTS],
                          LOOPBACK)
    operator = {"Authorization": f"Bearer {mint_test_token(tmp_path, role=Role.OPERATOR, organisation='*')}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        enabled = await http.post(f"/api/v1/webhooks/{sub.id}/enable", headers=operator)
        assert enabled.json()["enabled"] is True
        [sent] = await until_sent(notify, d, 1)
        log = (await http.get(f"/api/v1/webhooks/{sub.id}/deliveries", headers=operator)).json()
    assert sent.status is Status.SENT
    assert [(a["outcome"], a["status_code"]) for a in log] == [("sent", 200), ("retry", 503), ("retry", 503),
                                                               ("retry", None)]
    assert "Timeout" in log[-1]["error"]
    assert {r.headers["webhook-id"] for r in hooks.requests} == {public_event_id(event_id)}  # one id: dedupe
    # the stalled first attempt is recorded as answered once its stall ends (the sender gave up on it already):
    # on a busy machine that happens before this line
    assert [r.verified for r in hooks.accepted] in ([True], [True, True])


async def test_a_hanging_smtp_server_holds_up_neither_the_inbox_nor_webhooks(
    notify: Notify, make_dossier: Callable[..., Dossier], hanging_smtp_server: int,
    http_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    hooks = await http_receiver("/hooks")
    sub = await notify.subscribe(hooks.url, "pilot.application.submitted")
    hooks.secret = sub.secret
    d = make_dossier()
    await notify.publish(submitted(d))
    assert len((await notify.repo.inbox(f"applicant:{d.applicant.credit_code}"))[1]) == 1  # written with the event
    smtp_timeout_s = 3.0  # the webhook goes out within it, while the e-mail's send still hangs
    dispatcher = notify.dispatcher({Channel.EMAIL: email_sender(hanging_smtp_server, timeout_s=smtp_timeout_s),
                                    Channel.WEBHOOK: WebhookSender(5, guard=LOOPBACK)}, lease_s=10)
    await asyncio.wait_for(dispatcher.drain(Channel.EMAIL), smtp_timeout_s)  # starts the send, never waits for it
    await asyncio.wait_for(dispatcher.drain(Channel.WEBHOOK), smtp_timeout_s)
    await asyncio.wait_for(dispatcher.settle(Channel.WEBHOOK), smtp_timeout_s)
    assert len(hooks.accepted) == 1 and dispatcher.in_flight(Channel.EMAIL) == 1
    await asyncio.wait_for(dispatcher.settle(Channel.EMAIL), HANG_S)
    [stuck] = await notify.store.deliveries(Channel.EMAIL)
    assert (stuck.status, stuck.attempts) == (Status.PENDING, 1) and "Timeout" in stuck.last_error


async def test_a_restart_mid_batch_sends_every_delivery_exactly_once(
    mongo_db: Any, make_dossier: Callable[..., Dossier], http_receiver: Callable[..., Awaitable[Receiver]]
) -> None:
    notify = Notify(mongo_db, [Channel.INBOX, Channel.WEBHOOK])
    hooks = await http_receiver("/hooks")
    sub = await notify.subscribe(hooks.url, "pilot.application.submitted")
    hooks.secret = sub.secret
    messages = [envelope(submitted(make_dossier(i), app_id=f"A{i}")) for i in range(10)]
    await notify.consume(messages)
    real = WebhookSender(5, guard=LOOPBACK)
    gate = asyncio.Event()

    class CrashesAfterFour:
        def __init__(self) -> None:
            self.calls = 0

        async def send(self, delivery: Delivery, subscription: Subscription | None) -> SendResult:
            self.calls += 1
            if self.calls > 4:
                await gate.wait()  # the process dies here, before these six ever leave it
            return await real.send(delivery, subscription)

    crashes = CrashesAfterFour()
    first = notify.dispatcher({Channel.WEBHOOK: crashes})
    crashing = asyncio.create_task(first.drain(Channel.WEBHOOK))

    async def mid_batch() -> bool:  # four sent and recorded, six claimed and stuck in flight
        recorded = [x for x in await notify.store.deliveries() if x.status is Status.SENT]
        return len(recorded) == 4 and crashes.calls == 10

    await eventually(mid_batch, what="mid-batch")
    assert len(hooks.accepted) == 4
    crashing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await crashing
    await first.cancel()  # the process dies: its six sends in flight go with it

    restarted = Notify(mongo_db, [Channel.INBOX, Channel.WEBHOOK])
    await restarted.consume(messages)  # it reads the same events again: nothing new is planned
    assert len(await notify.store.deliveries()) == 10

    clock = Clock(utc_now())
    second, third = (restarted.dispatcher({Channel.WEBHOOK: WebhookSender(5, guard=LOOPBACK)}, clock=clock)
                     for _ in range(2))
    assert await second.run_once() == 0  # the crashed process's leases still hold
    clock.now += timedelta(seconds=31)
    assert sum(await asyncio.gather(second.run_once(), third.run_once())) == 6  # two replicas, no overlap
    ids = [r.headers["webhook-id"] for r in hooks.accepted]
    assert len(ids) == 10 and len(set(ids)) == 10 and all(r.verified for r in hooks.accepted)
    assert {x.status for x in await notify.store.deliveries()} == {Status.SENT}


async def test_reminders_are_stored_timers_that_fire_once_across_restarts(
    mongo_db: Any, make_dossier: Callable[..., Dossier]
) -> None:
    deadline = date(2026, 12, 10)
    clock = Clock()
    before = Notify(mongo_db, [Channel.INBOX], clock)
    d = make_dossier()
    await before.publish(scheduled(county_review=deadline), submitted(d), screened(d))

    async def fire(n: Notify, day: date) -> int:
        clock.now = clock.now.replace(year=day.year, month=day.month, day=day.day)
        return await handlers.fire_due_timers(n.uow, n.planner, n.metrics, [3, 1])

    assert await fire(before, deadline - timedelta(days=3)) == 1
    after = Notify(mongo_db, [Channel.INBOX], clock)  # a restarted notify: nothing in memory survives
    assert await fire(after, deadline - timedelta(days=2)) == 0
    assert [await fire(after, deadline + timedelta(days=1)), await fire(before, deadline + timedelta(days=2))] == [1, 0]
    city = [m.title for m in (await after.repo.inbox("official:420100"))[1]]
    assert "逾期督办：武汉市洪山区县级初审逾期" in city
    county = [m.title for m in (await after.repo.inbox("official:420111"))[1]]
    assert county.count("办理提醒：县级初审将于2026年12月10日截止") == 1


async def test_webhook_secrets_are_stored_sealed_and_old_plain_ones_are_sealed_at_start(
    notify: Notify, mongo_db: Any
) -> None:
    sub = await notify.subscribe("https://gov.example/hook", "pilot.application.submitted")
    stored = await mongo_db.subscriptions.find_one({"_id": sub.id})
    assert stored["secret"].startswith("fernet:") and sub.secret[6:] not in stored["secret"]
    assert (await notify.store.subscription(sub.id)).secret == sub.secret
    await mongo_db.subscriptions.update_one({"_id": sub.id}, {"$set": {"secret": sub.secret}})  # before sealing
    assert await notify.store.seal_secrets() == 1 and await notify.store.seal_secrets() == 0
    assert (await mongo_db.subscriptions.find_one({"_id": sub.id}))["secret"].startswith("fernet:")
    other = MongoDeliveryStore(mongo_db, SecretBox(Fernet.generate_key().decode()))
    with pytest.raises(ValueError, match="NOTIFY_WEBHOOK_SECRET_KEY"):
        await other.subscription(sub.id)
