"""The in-memory fakes and the Mongo adapters pass the same contract."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationWithdrawn, Event
from zhongshi_notify.deliveries import DeliveryStore, InMemoryDeliveryStore, MongoDeliveryStore, due
from zhongshi_notify.domain import Case, RoundSchedule, Stage
from zhongshi_notify.planning import (
    ApplicantContact,
    Attempt,
    Channel,
    Contact,
    Delivery,
    InboxMessage,
    Preferences,
    Status,
    Subscription,
)
from zhongshi_notify.repository import InMemoryNotifyRepository, MongoNotifyRepository, NotifyRepository
from zhongshi_notify.tracking import ExpertPanel, Platform, PublicityWindow
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import Consumed, MongoUnitOfWork, Step
from zhongshi_runtime.testing import watched

from .samples import NOW

LATER = NOW + timedelta(minutes=5)


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
async def repo(request: pytest.FixtureRequest) -> NotifyRepository:
    if request.param == "memory":
        return InMemoryNotifyRepository()
    mongo = MongoNotifyRepository(request.getfixturevalue("mongo_db"))
    await mongo.ensure_indexes()
    return mongo


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
async def store(request: pytest.FixtureRequest) -> DeliveryStore:
    if request.param == "memory":
        return InMemoryDeliveryStore()
    mongo = MongoDeliveryStore(request.getfixturevalue("mongo_db"))
    await mongo.ensure_indexes()
    return mongo


def case(app_id: str, stage: Stage) -> Case:
    return Case(application_id=app_id, round_id="R1", revision=1, stage=stage, region_code="420111",
                city_code="420100", applicant_name="甲", platform_name="乙")


def delivery(n: int, channel: Channel = Channel.EMAIL, recipient: str = "c", status: Status = Status.PENDING,
             due: int = 0) -> Delivery:
    return Delivery(id=f"e{n}/{recipient}/{channel}", source_id=f"e{n}", kind="k", channel=channel,
                    recipient=recipient, address="a@b.cn", title="标题", body="正文", application_id="A1",
                    status=status, created_at=NOW + timedelta(seconds=n), next_attempt_at=NOW + timedelta(seconds=due))


async def test_cases_contacts_and_schedules_round_trip(repo: NotifyRepository) -> None:
    for app_id, stage in [("b", Stage.CITY_REVIEW), ("a", Stage.COUNTY_REVIEW), ("c", Stage.EXPERT_REVIEW)]:
        await repo.save_case(case(app_id, stage))
    await repo.save_case(case("a", Stage.EXCEPTION_REVIEW))
    assert await repo.case("a") == case("a", Stage.EXCEPTION_REVIEW) and await repo.case("z") is None
    assert [c.application_id for c in await repo.open_cases()] == ["a", "b"]
    contact = ApplicantContact(application_id="a", revision=2, contact=Contact(name="张工", email="x@y.cn",
                                                                               phone="13800000000"))
    await repo.save_contact(contact)
    assert await repo.contact("a") == contact and await repo.contact("b") is None
    plan = RoundSchedule(round_id="R1", deadlines={"county_review": date(2026, 12, 1)}, scheduled_at=NOW)
    await repo.save_schedule(plan)
    assert await repo.schedule("R1") == plan and await repo.schedules() == [plan]


async def test_panels_publicity_and_platforms_are_found_by_whether_they_still_call_for_timers(
    repo: NotifyRepository
) -> None:
    waiting = ExpertPanel(application_id="A1", round_id="R1", score_by=date(2026, 12, 7), members=["E1", "E2"],
                          scored=["E1"])
    await repo.panels.put("A1", waiting)
    await repo.panels.put("A2", waiting.model_copy(update={"application_id": "A2", "scored": ["E1", "E2"]}))
    await repo.panels.put("A3", waiting.model_copy(update={"application_id": "A3", "closed": True}))
    assert await repo.panels.find(open=True) == [waiting] and await repo.panels.get("A1") == waiting
    window = PublicityWindow(round_id="R1", ends_on=date(2026, 12, 4), filed=["O1"])
    await repo.publicity.put("R1", window)
    await repo.publicity.put("R0", PublicityWindow(round_id="R0", ends_on=date(2026, 6, 1), closed=True))
    assert await repo.publicity.find(open=True) == [window]
    active = Platform(application_id="A1", round_id="R1", platform_id="P-A1", accredited_on=date(2026, 12, 7),
                      reports_filed=[2026], decision="accredit")
    await repo.platforms.put("A1", active)
    await repo.platforms.put("A2", active.model_copy(update={"application_id": "A2", "revoked": True}))
    await repo.platforms.put("A3", Platform(application_id="A3", round_id="R1", decision="cultivate"))
    assert await repo.platforms.find(active=True) == [active]


async def test_directory_and_preferences_default_and_round_trip(repo: NotifyRepository) -> None:
    assert await repo.directory_entry("420100") is None
    await repo.set_directory_entry("420100", Contact(name="科技处", email="k@wh.gov.cn"))
    assert await repo.directory_entry("420100") == Contact(name="科技处", email="k@wh.gov.cn")
    assert await repo.preferences("x") == Preferences()
    await repo.set_preferences("x", Preferences(sms=False))
    assert await repo.preferences("x") == Preferences(sms=False)


async def test_the_inbox_stores_a_message_once_and_pages_newest_first(repo: NotifyRepository) -> None:
    def message(n: int, recipient: str = "me", title: str = "t") -> InboxMessage:
        return InboxMessage(id=f"e{n}/{recipient}/inbox", recipient=recipient, title=title, body="b",
                            application_id="A1", event_type="x", created_at=NOW + timedelta(minutes=n))

    await repo.add_inbox([message(1), message(2), message(3, "other")])
    await repo.add_inbox([message(1, title="changed")])  # a replay changes nothing
    unread, items = await repo.inbox("me")
    assert unread == 2 and [(m.id, m.title) for m in items] == [("e2/me/inbox", "t"), ("e1/me/inbox", "t")]
    assert items[0] == message(2)
    assert await repo.mark_read("e1/me/inbox", "me") and not await repo.mark_read("e3/other/inbox", "me")
    unread, page = await repo.inbox("me", offset=1, limit=1)
    assert unread == 1 and [m.read for m in page] == [True]


async def test_a_delivery_is_stored_once_and_claimed_by_one_lease(store: DeliveryStore) -> None:
    await store.add([delivery(1, due=2), delivery(2), delivery(3, Channel.SMS), delivery(4, status=Status.HELD)])
    await store.add([delivery(2).model_copy(update={"body": "changed"})])
    assert [d.id for d in await store.deliveries(Channel.EMAIL)] == ["e1/c/email", "e2/c/email", "e4/c/email"]
    assert (await store.deliveries(Channel.EMAIL))[1].body == "正文"
    lease = NOW + timedelta(seconds=30)
    [first] = await store.claim(Channel.EMAIL, NOW, lease, "A", 10)  # e1 is not due yet, e4 is held
    assert (first.id, first.attempts, first.lease_owner, first.lease_until) == ("e2/c/email", 1, "A", lease)
    assert first.next_attempt_at == lease  # a claimed delivery is next due when its lease runs out
    assert await store.claim(Channel.EMAIL, NOW, lease, "B", 10) == []
    later = NOW + timedelta(seconds=31)
    [earliest] = await store.claim(Channel.EMAIL, later, later + timedelta(seconds=30), "B", 1)
    assert (earliest.id, earliest.attempts) == ("e1/c/email", 1)  # due since NOW+2 s, before A's lease ran out
    [again] = await store.claim(Channel.EMAIL, later, later + timedelta(seconds=30), "B", 5)  # A's lease expired
    assert (again.id, again.attempts) == ("e2/c/email", 2)
    assert not await store.finish(first.model_copy(update={"status": Status.SENT}), "A")
    assert await store.finish(again.model_copy(update={"status": Status.SENT, "sent_at": later, "lease_owner": ""}),
                              "B")
    stored = {d.id: d for d in await store.deliveries()}
    assert stored["e2/c/email"].status is Status.SENT and stored["e2/c/email"].sent_at == later
    assert stored["e2/c/email"].lease_owner == "" and stored["e3/c/sms"].attempts == 0


@pytest.mark.integration
async def test_a_claim_reads_the_due_deliveries_from_the_index_not_every_delivery(mongo_db: Any) -> None:
    """Deliveries sent long ago stay stored: a claim that read them all would slow with every round."""
    store = MongoDeliveryStore(mongo_db)
    await store.ensure_indexes()
    await store.add([delivery(n, status=Status.SENT) for n in range(300)] + [delivery(300 + n) for n in range(3)])
    stats = (await mongo_db.command("explain", {"find": "deliveries", "filter": due(Channel.EMAIL, NOW)},
                                    verbosity="executionStats"))["executionStats"]
    assert (stats["nReturned"], stats["totalDocsExamined"]) == (3, 3)
    assert len(await store.claim(Channel.EMAIL, NOW, LATER, "A", 10)) == 3


@pytest.mark.integration
async def test_dispatchers_claiming_at_once_take_each_delivery_once_with_one_update_a_claim(
        mongo_db: Any, scratch_uri: str) -> None:
    db, commands = watched(scratch_uri, mongo_db.name)
    store = MongoDeliveryStore(db)
    await store.ensure_indexes()
    await store.add([delivery(n) for n in range(40)])
    commands.sent.clear()
    claims = await asyncio.gather(*(store.claim(Channel.EMAIL, NOW, LATER, owner, 40) for owner in "ABC"))
    taken = [d.id for claimed in claims for d in claimed]
    assert sorted(taken) == sorted(d.id for d in await store.deliveries()) and len(set(taken)) == 40
    for owner, claimed in zip("ABC", claims, strict=True):
        assert all((d.lease_owner, d.lease_until, d.attempts) == (owner, LATER, 1) for d in claimed)
    assert [sent.name for sent in commands.sent].count("update") == 3  # one a claim, however many it takes


@pytest.mark.integration
async def test_the_claims_that_follow_a_read_of_the_due_deliveries_take_from_it_until_others_took_them(
        mongo_db: Any, scratch_uri: str) -> None:
    """The embedded database reads every due delivery for any claim's query: one read serves the next claims."""
    db, commands = watched(scratch_uri, mongo_db.name)
    mine, other = MongoDeliveryStore(db), MongoDeliveryStore(db)
    await mine.add([delivery(n, due=n) for n in range(40)])  # due one a second, in order

    def reads() -> int:
        return sum(1 for sent in commands.sent if sent.name == "find" and "next_attempt_at" in sent.filters[0])

    def numbers(claimed: list[Delivery]) -> list[int]:
        return [int(d.source_id[1:]) for d in claimed]

    later = NOW + timedelta(minutes=1)
    assert numbers(await mine.claim(Channel.EMAIL, later, LATER, "A", 10)) == list(range(10))
    assert numbers(await mine.claim(Channel.EMAIL, later, LATER, "A", 10)) == list(range(10, 20)) and reads() == 1
    assert numbers(await other.claim(Channel.EMAIL, later, LATER, "B", 10)) == list(range(20, 30))  # its own read
    assert await mine.claim(Channel.EMAIL, later, LATER, "A", 10) == []  # what it read, B took
    assert numbers(await mine.claim(Channel.EMAIL, later, LATER, "A", 10)) == list(range(30, 40)) and reads() == 3


async def test_deliveries_awaiting_the_applicants_contact_are_addressed_once_it_is_known(store: DeliveryStore) -> None:
    waiting = [delivery(n, channel, status=Status.AWAITING).model_copy(update={"address": ""})
               for n, channel in ((1, Channel.EMAIL), (2, Channel.SMS))]
    other = delivery(3, status=Status.AWAITING).model_copy(update={"address": "", "application_id": "A2"})
    await store.add([*waiting, other])
    assert await store.claim(Channel.EMAIL, LATER, LATER, "A", 10) == []  # no address: not sent
    assert await store.address_awaiting("A1", "c", Contact(email="x@y.cn"), LATER) == 2
    stored = {d.id: d for d in await store.deliveries()}
    assert (stored["e1/c/email"].status, stored["e1/c/email"].address) == (Status.PENDING, "x@y.cn")
    assert stored["e1/c/email"].next_attempt_at == LATER
    assert stored["e2/c/sms"].status is Status.FAILED  # the dossier gave no phone
    assert stored["e3/c/email"].status is Status.AWAITING  # another application's contact is not known yet
    assert await store.address_awaiting("A1", "c", Contact(email="x@y.cn"), LATER) == 0


async def test_subscriptions_count_failures_disable_and_enable_releasing_held_deliveries(store: DeliveryStore) -> None:
    sub = Subscription(id="wh", url="https://x", event_types=["pilot.application.submitted"], secret="s",
                       created_at=NOW)
    await store.add_subscription(sub)
    assert await store.subscription("wh") == sub and await store.subscription("no") is None
    assert [await store.subscription_failed("wh", 2, NOW) for _ in range(3)] == [False, True, False]
    disabled = await store.subscription("wh")
    assert (disabled.enabled, disabled.consecutive_failures, disabled.disabled_at) == (False, 3, NOW)
    held = delivery(1, Channel.WEBHOOK, "wh", Status.HELD).model_copy(update={"attempts": 4})
    await store.add([held])
    enabled = await store.enable("wh", LATER)
    assert (enabled.enabled, enabled.consecutive_failures, enabled.disabled_at) == (True, 0, None)
    [released] = await store.deliveries(Channel.WEBHOOK)
    assert (released.status, released.attempts, released.next_attempt_at) == (Status.PENDING, 0, LATER)
    await store.subscription_failed("wh", 5, NOW)
    await store.subscription_succeeded("wh")
    assert (await store.subscription("wh")).consecutive_failures == 0
    assert await store.enable("nope", NOW) is None
    assert [s.id for s in await store.subscriptions()] == ["wh"]


async def test_the_delivery_log_is_per_recipient_newest_first(store: DeliveryStore) -> None:
    for n, recipient in [(1, "wh"), (2, "wh"), (3, "other")]:
        await store.log_attempt(Attempt(delivery_id=f"e{n}", source_id=f"e{n}", channel=Channel.WEBHOOK,
                                        recipient=recipient, kind="k", attempt=1, at=NOW + timedelta(seconds=n),
                                        outcome="retry", status_code=503, error="HTTP 503", duration_ms=1.5))
    assert [a.delivery_id for a in await store.attempts("wh")] == ["e2", "e1"]
    assert [a.delivery_id for a in await store.attempts("wh", offset=1, limit=5)] == ["e1"]
    assert (await store.attempts("other"))[0].status_code == 503


@pytest.mark.integration
async def test_messages_and_preferences_stored_by_bare_code_get_their_reader_once(mongo_db: Any) -> None:
    repo = MongoNotifyRepository(mongo_db)
    legacy = {"420100": "official:420100", "42": "official:42", "91420111MA0000000W": "applicant:91420111MA0000000W",
              "E002": "expert:E002"}
    for n, code in enumerate(legacy):
        await mongo_db.inbox.insert_one({"_id": f"ev{n}/{code}/inbox", "recipient": code, "title": "t", "body": "b",
                                         "application_id": "A1", "event_type": "t", "created_at": NOW, "read": False})
    await mongo_db.preferences.insert_one({"_id": "420100", "email": False, "sms": True})
    await repo.migrate_readers()
    for code, reader in legacy.items():
        assert [m.id for m in (await repo.inbox(reader))[1]] == [f"ev{list(legacy).index(code)}/{code}/inbox"]
    assert await repo.preferences("official:420100") == Preferences(email=False)
    assert await mongo_db.preferences.find_one({"_id": "420100"}) is None
    await mongo_db.inbox.insert_one({"_id": "late", "recipient": "420111", "title": "t", "body": "b",
                                     "application_id": "A1", "event_type": "t", "created_at": NOW, "read": False})
    await repo.migrate_readers()  # once only: a later run touches nothing
    assert (await mongo_db.inbox.find_one({"_id": "late"}))["recipient"] == "420111"


async def test_reach_reads_contacts_directory_and_preferences_in_bulk(repo: NotifyRepository) -> None:
    contact = ApplicantContact(application_id="a", revision=1, contact=Contact(name="张三", email="z@x.cn"))
    await repo.save_contact(contact)
    await repo.set_directory_entry("420100", Contact(name="科技处", email="k@wh.gov.cn"))
    await repo.set_preferences("420100", Preferences(sms=False))
    reach = await repo.reach(["a", "b"], ["420100", "420200"], ["420100", "91420100X"])
    assert reach.contacts == {"a": contact}
    assert reach.directory == {"420100": Contact(name="科技处", email="k@wh.gov.cn")}
    assert reach.preferences_of("420100") == Preferences(sms=False)
    assert reach.preferences_of("91420100X") == Preferences()  # none stored: the defaults
    assert await repo.reach([], [], []) == type(reach)()


@pytest.mark.integration
async def test_a_transaction_reads_the_schedule_and_subscriptions_once_for_all_its_steps(
        mongo_db: Any, scratch_uri: str) -> None:
    """What several events planned in one transaction share is read once; a schedule saved or a subscription added
    by one step is what the next reads; the next transaction reads afresh."""
    db, commands = watched(scratch_uri, mongo_db.name)
    repo, store = MongoNotifyRepository(db), MongoDeliveryStore(db)
    uow = MongoUnitOfWork(db.client, db, source="/zhongshi/notify", metrics=RuntimeMetrics("notify"),
                          on_outbox=lambda: None)
    old = RoundSchedule(round_id="R1", deadlines={"county_review": date(2026, 12, 1)}, scheduled_at=NOW)
    new = old.model_copy(update={"deadlines": {"county_review": date(2026, 12, 8)}, "scheduled_at": LATER})
    await repo.save_schedule(old)
    await store.add_subscription(Subscription(id="wh", url="https://x", event_types=[], secret="s", created_at=NOW))
    seen: list[tuple[RoundSchedule | None, list[str]]] = []

    def planning(saves: RoundSchedule | None = None, subscribes: str = "") -> Step:
        async def work(session: Any) -> list[Event]:
            if saves:
                await repo.save_schedule(saves, session)
            if subscribes:
                await store.add_subscription(Subscription(id=subscribes, url="https://y", event_types=[], secret="t",
                                                          created_at=LATER), session)
            seen.append((await repo.schedule("R1", session), [s.id for s in await store.subscriptions(session)]))
            return []

        event = CloudEvent.new(ApplicationWithdrawn.topic, source="/t", subject="A1")
        return Step(work, Consumed("notify.plan", event, "t"))

    commands.sent.clear()
    await uow.run_together([planning(), planning(), planning(saves=new, subscribes="wh2"), planning()])
    assert seen == [(old, ["wh"]), (old, ["wh"]), (new, ["wh", "wh2"]), (new, ["wh", "wh2"])]
    sent = [str(c) for c in commands.sent]
    assert sent.count("find schedules") == 1  # then what the third saved
    assert sent.count("find subscriptions") == 2  # again after the third added one
    await store.remove_subscription("wh")
    await uow.run_together([planning()])
    assert seen[-1] == (new, ["wh2"])  # a new transaction: read again
    await db.client.close()
