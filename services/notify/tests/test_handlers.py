"""Notify's handlers on FastStream's TestKafkaBroker with in-memory fakes: what gets planned, and that a
redelivered event plans nothing new."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any, NoReturn

import pytest
from faststream.kafka import TestKafkaBroker
from zhongshi_contracts.dossier import Dossier
from zhongshi_notify import handlers
from zhongshi_notify.deliveries import DeliveryStore, InMemoryDeliveryStore
from zhongshi_notify.domain import legacy_reader
from zhongshi_notify.metrics import NotifyMetrics
from zhongshi_notify.planning import Channel, Contact, InboxMessage, Preferences, Status, Subscription
from zhongshi_notify.repository import InMemoryNotifyRepository, NotifyRepository
from zhongshi_notify.settings import NotifySettings
from zhongshi_notify.templates import Templates
from zhongshi_runtime.testing import HandlerHarness, InMemoryUnitOfWork, envelope

from .samples import NOW, Clock, recommended, scheduled, screened, submitted, withdrawn

TEMPLATES = Templates.load()


def make_planner(repo: NotifyRepository, store: DeliveryStore, clock: Clock,
                 enabled: Iterable[Channel] = tuple(Channel)) -> handlers.Planner:
    return handlers.Planner(repo, store, TEMPLATES, enabled=enabled, clock=clock)


class NotifyHarness(HandlerHarness):
    """The handler harness plus notify's fakes, clock, metrics and planner."""

    repo: InMemoryNotifyRepository
    store: InMemoryDeliveryStore
    clock: Clock
    notify_metrics: NotifyMetrics
    planner: handlers.Planner


def new_harness() -> NotifyHarness:
    """Notify's handler over in-memory fakes, with a clock the test moves."""
    h = NotifyHarness(NotifySettings(handler_retry_backoff_s=0))
    h.repo, h.store, h.clock = InMemoryNotifyRepository(), InMemoryDeliveryStore(), Clock()
    h.notify_metrics = NotifyMetrics(h.metrics.registry)
    h.planner = make_planner(h.repo, h.store, h.clock)
    handlers.register(h.consumers, h.uow, h.planner, h.notify_metrics)
    return h


@pytest.fixture
def harness() -> NotifyHarness:
    return new_harness()


async def inbox_of(h: NotifyHarness, recipient: str) -> list[InboxMessage]:
    return (await h.repo.inbox(recipient if ":" in recipient else legacy_reader(recipient)))[1]


async def test_submit_and_screen_tell_the_applicant_on_every_channel_and_the_county_in_its_inbox(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(submitted(d)))
        await broker.publish(**envelope(screened(d)))
    mine = await inbox_of(harness, d.applicant.credit_code)
    assert sorted(m.title for m in mine) == [f"“{d.platform.name}”形式审查结果", f"已收到“{d.platform.name}”的申报"]
    county = await inbox_of(harness, "420111")
    assert [m.title for m in county] == [f"新申报待县级初审：“{d.platform.name}”"]
    out = await harness.store.deliveries()
    assert sorted((o.channel, o.address) for o in out) == [
        (Channel.EMAIL, "pilot0@example.cn"), (Channel.EMAIL, "pilot0@example.cn"),
        (Channel.SMS, "13802710000"), (Channel.SMS, "13802710000")]  # the county has no directory entry
    assert all(o.status is Status.PENDING for o in out)
    sent_inbox = harness.metrics.registry.get_sample_value(
        "zhongshi_notify_deliveries_total", {"channel": "inbox", "outcome": "sent"})
    assert sent_inbox == 3


async def test_the_verdict_consumed_before_the_submission_is_still_e_mailed_and_texted(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(screened(d)))  # another topic: it may overtake the submission
        assert {o.status for o in await harness.store.deliveries()} == {Status.AWAITING}
        await broker.publish(**envelope(submitted(d)))
    out = await harness.store.deliveries()
    assert sorted((o.channel, o.address, o.status) for o in out) == [
        (Channel.EMAIL, "pilot0@example.cn", Status.PENDING), (Channel.EMAIL, "pilot0@example.cn", Status.PENDING),
        (Channel.SMS, "13802710000", Status.PENDING), (Channel.SMS, "13802710000", Status.PENDING)]


async def test_a_resubmissions_verdict_read_before_it_waits_for_its_contact_not_the_previous_one(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    """The applicant changed its contact person on resubmitting; the second verdict overtook the resubmission."""
    d = make_dossier()
    moved = d.model_copy(update={"applicant": d.applicant.model_copy(update={"contact": d.applicant.contact.model_copy(
        update={"email": "new-contact@example.cn", "phone": "13902710001"})})})
    async with TestKafkaBroker(harness.ready()) as broker:
        for event in (submitted(d), screened(d, outcome="ineligible"), screened(moved, revision=2)):
            await broker.publish(**envelope(event))
        verdict = [o for o in await harness.store.deliveries() if o.status is Status.AWAITING]
        assert len(verdict) == 2  # e-mail and SMS of the second verdict, not sent to the old contact
        await broker.publish(**envelope(submitted(moved, revision=2)))
    addressed = {o.address for o in await harness.store.deliveries() if o.id in {v.id for v in verdict}}
    assert addressed == {"new-contact@example.cn", "13902710001"}


async def test_a_redelivered_event_plans_nothing_new(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    harness.store.subs["wh"] = Subscription(id="wh", url="http://x", event_types=["pilot.application.submitted"],
                                            secret="s", created_at=NOW)
    message = envelope(submitted(d))
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**message)
        await broker.publish(**message)
    assert harness.uow.duplicates == 1
    assert len(await harness.store.deliveries()) == 3 and len(harness.repo.messages) == 1
    sent_inbox = harness.metrics.registry.get_sample_value(
        "zhongshi_notify_deliveries_total", {"channel": "inbox", "outcome": "sent"})
    assert sent_inbox == 1  # counted once the delivery committed, never for the duplicate


async def test_a_replay_after_losing_the_consumed_record_still_plans_nothing_new(
    make_dossier: Callable[..., Dossier]
) -> None:
    """Notify restarted mid-batch with a fresh consumer state: deterministic ids absorb the replay."""
    repo, store, clock = InMemoryNotifyRepository(), InMemoryDeliveryStore(), Clock()
    d = make_dossier()
    messages = [envelope(submitted(d)), envelope(screened(d))]
    for _ in range(2):  # two processes over the same storage, each with its own (empty) consumed set
        h = HandlerHarness(NotifySettings(handler_retry_backoff_s=0))
        handlers.register(h.consumers, InMemoryUnitOfWork(), make_planner(repo, store, clock),
                          NotifyMetrics(h.metrics.registry))
        async with TestKafkaBroker(h.ready()) as broker:
            for message in messages:
                await broker.publish(**message)
        assert len(await store.deliveries()) == 4 and len(repo.messages) == 3


async def test_preferences_and_the_directory_decide_the_channels(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    await harness.repo.set_preferences(f"applicant:{d.applicant.credit_code}", Preferences(sms=False))
    await harness.repo.set_directory_entry("420111", Contact(name="洪山区经信局", phone="13900001111"))
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(submitted(d)))
        await broker.publish(**envelope(screened(d)))
    out = await harness.store.deliveries()
    assert sorted((o.recipient, o.channel) for o in out) == [
        ("420111", Channel.SMS), (d.applicant.credit_code, Channel.EMAIL), (d.applicant.credit_code, Channel.EMAIL)]


async def test_unconfigured_channels_are_not_planned(make_dossier: Callable[..., Dossier]) -> None:
    h = HandlerHarness(NotifySettings())
    repo, store = InMemoryNotifyRepository(), InMemoryDeliveryStore()
    handlers.register(h.consumers, h.uow, make_planner(repo, store, Clock(), enabled=[Channel.INBOX]),
                      NotifyMetrics(h.metrics.registry))
    async with TestKafkaBroker(h.ready()) as broker:
        await broker.publish(**envelope(submitted(make_dossier())))
    assert await store.deliveries() == [] and len(repo.messages) == 1


async def test_a_webhook_carries_the_redacted_event_under_its_cloudevent_id(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    harness.store.subs["wh"] = Subscription(id="wh", url="http://x", event_types=["pilot.application.recommended"],
                                            secret="s", created_at=NOW)
    message = envelope(recommended(make_dossier()))
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**message)
    [hook] = await harness.store.deliveries(Channel.WEBHOOK)
    ce_id = message["headers"]["ce_id"]
    assert hook.id == f"{ce_id}/wh/webhook" and hook.source_id == ce_id
    payload = json.loads(hook.body)
    assert payload["id"] == ce_id and "id" not in payload["data"]["actor"] and "13912345678" not in hook.body


async def test_a_withdrawal_in_the_city_queue_tells_the_city(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    async with TestKafkaBroker(harness.ready()) as broker:
        for event in (submitted(d), screened(d), recommended(d), withdrawn(d)):
            await broker.publish(**envelope(event))
    assert sorted(m.title for m in await inbox_of(harness, "420100")) == [
        f"新申报待市州推荐：“{d.platform.name}”", f"申报已撤回：“{d.platform.name}”"]
    assert harness.repo.cases["A1"].stage == "withdrawn"
    assert "申报已撤回" in [m.title for m in await inbox_of(harness, d.applicant.credit_code)]


async def test_a_failing_store_surfaces_so_the_event_is_retried_then_dead_lettered(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise ValueError("a corrupt record")

    harness.repo.case = broken  # type: ignore[method-assign]  # the fake's read fails from now on
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(screened(make_dossier())))
    [(topic, headers, _)] = harness.dead_letters
    assert topic == "pilot.application.screened.dlq" and "a corrupt record" in headers["dlq_reason"]


async def test_reminders_and_escalations_fire_once_each(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    deadline = date(2026, 12, 10)
    await harness.repo.set_directory_entry("420100", Contact(name="武汉市经信局", email="kjc@wh.gov.cn"))
    async with TestKafkaBroker(harness.ready()) as broker:
        for event in (scheduled(county_review=deadline), submitted(d), screened(d)):
            await broker.publish(**envelope(event))

    async def fire_on(day: date) -> int:
        harness.clock.now = NOW.replace(year=day.year, month=day.month, day=day.day)
        return await handlers.fire_due_timers(harness.uow, harness.planner, harness.notify_metrics, [3, 1])

    assert await fire_on(deadline - timedelta(days=4)) == 0
    assert [await fire_on(deadline - timedelta(days=3)), await fire_on(deadline - timedelta(days=2))] == [1, 0]
    assert [await fire_on(deadline), await fire_on(deadline)] == [1, 0]
    assert [await fire_on(deadline + timedelta(days=1)), await fire_on(deadline + timedelta(days=5))] == [1, 0]
    county = [m.title for m in await inbox_of(harness, "420111")]
    assert county.count("办理提醒：县级初审将于2026年12月10日截止") == 2
    [escalation] = [m for m in await inbox_of(harness, "420100") if m.event_type == "notify.escalation"]
    assert escalation.title == "逾期督办：武汉市洪山区县级初审逾期"
    [mail] = [o for o in await harness.store.deliveries() if o.kind == "escalation.official"]
    assert (mail.channel, mail.recipient, mail.address) == (Channel.EMAIL, "420100", "kjc@wh.gov.cn")
    assert mail.title == "【湖北省中试平台认定】逾期督办：武汉市洪山区县级初审逾期"
    fired = {k: harness.metrics.registry.get_sample_value("zhongshi_notify_reminders_total",
                                                          {"kind": k, "deadline": "county_review"})
             for k in ("reminder", "escalation")}
    assert fired == {"reminder": 2, "escalation": 1}


async def test_an_event_with_many_notices_reads_their_addresses_once(harness: NotifyHarness) -> None:
    quotas = {"420100": 3, "420200": 2, "420300": 1, "420500": 2}
    for city in quotas:
        await harness.repo.set_directory_entry(city, Contact(name="科技处", email=f"{city}@gov.cn"))
    await harness.repo.set_preferences(legacy_reader("420200"), Preferences(email=False))
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(scheduled(quotas=quotas)))
    assert harness.repo.reads == 1  # not two per notice
    out = await harness.store.deliveries(Channel.EMAIL)
    assert sorted(d.address for d in out) == ["420100@gov.cn", "420300@gov.cn", "420500@gov.cn"]
