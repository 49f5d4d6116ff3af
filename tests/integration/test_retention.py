"""Issue 18 item 15: each store keeps personal data for a stated period, and the purge enforces it on the real
database — deleting what is past its period, blanking an objector's name and contact but keeping the record."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from zhongshi_notify.app import create_app as create_notify
from zhongshi_notify.app import retention_rules
from zhongshi_notify.domain import Audience, Notice
from zhongshi_notify.planning import ApplicantContact, Channel, Contact, Preferences, Rendered, plan_notice
from zhongshi_notify.repository import MongoNotifyRepository
from zhongshi_notify.settings import NotifySettings
from zhongshi_notify.verification_service import Challenge
from zhongshi_registry.app import create_app as create_registry
from zhongshi_registry.settings import RegistrySettings
from zhongshi_runtime.contact_proof import contact_digest
from zhongshi_runtime.retention import Retention, Rule
from zhongshi_runtime.store import MongoStore

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
LOG = logging.getLogger("test.retention")
CONTACT = Contact(name="张工", email="pilot0@example.cn", phone="13802710000")


def days_ago(n: int) -> datetime:
    return NOW - timedelta(days=n)


async def ids(collection: Any) -> set[str]:
    return {d["_id"] async for d in collection.find({}, {"_id": 1})}


async def test_every_store_forgets_what_is_past_its_period(mongo_db: Any) -> None:
    kit_rules = create_notify(NotifySettings()).state.kit.retention.rules
    assert {r.collection for r in kit_rules} == {"processed_events", "dead_letters", "deliveries",
                                                 "delivery_attempts", "inbox", "contacts", "contact_verifications"}
    await mongo_db.processed_events.insert_many([{"_id": "h/old", "at": days_ago(401)}, {"_id": "h/new", "at": NOW}])
    await mongo_db.dead_letters.insert_many([
        {"_id": "redriven-old", "status": "redriven", "redriven_at": days_ago(91), "body": b"personal"},
        {"_id": "redriven-new", "status": "redriven", "redriven_at": days_ago(10)},
        {"_id": "dead-old", "status": "dead", "failed_at": days_ago(500)}])  # waits for a person, however old
    await mongo_db.deliveries.insert_many([{"_id": "d-old", "created_at": days_ago(181)}, {"_id": "d-new",
                                                                                           "created_at": NOW}])
    await mongo_db.delivery_attempts.insert_many([{"_id": "a-old", "at": days_ago(181)}, {"_id": "a-new", "at": NOW}])
    await mongo_db.inbox.insert_many([{"_id": "m-old", "created_at": days_ago(1096)},
                                      {"_id": "m-new", "created_at": days_ago(1000)}])
    await mongo_db.contacts.insert_many([{"_id": "c-old", "stored_at": days_ago(366)},
                                         {"_id": "c-new", "stored_at": days_ago(300)}])  # blanked: next test
    retention = Retention(mongo_db, LOG, clock=lambda: NOW)
    retention.keep(*kit_rules)
    assert sum((await retention.purge()).values()) == 6
    for collection, kept in [("processed_events", {"h/new"}), ("dead_letters", {"redriven-new", "dead-old"}),
                             ("deliveries", {"d-new"}), ("delivery_attempts", {"a-new"}), ("inbox", {"m-new"}),
                             ("contacts", {"c-old", "c-new"})]:
        assert await ids(mongo_db[collection]) == kept, collection
    assert sum((await retention.purge()).values()) == 0
    assert len(retention_rules(NotifySettings(delivery_retention_days=30))) == 5


async def test_an_applicant_s_contact_is_blanked_after_a_year_and_later_notices_go_to_the_inbox_alone(
        mongo_db: Any) -> None:
    repo = MongoNotifyRepository(mongo_db)
    for application, stored in (("A-old", days_ago(366)), ("A-new", days_ago(300))):
        await repo.save_contact(ApplicantContact(application_id=application, revision=1, contact=CONTACT))
        await mongo_db.contacts.update_one({"_id": application}, {"$set": {"stored_at": stored}})
    retention = Retention(mongo_db, LOG, clock=lambda: NOW)
    retention.keep(*[r for r in retention_rules(NotifySettings()) if r.collection == "contacts"])
    assert await retention.purge() == {"contacts.stored_at": 1}
    assert await retention.purge() == {"contacts.stored_at": 0}  # blanked once
    erased = await repo.contact("A-old")
    assert erased is not None and erased.contact == Contact() and erased.revision == 1
    assert "138" not in str(await mongo_db.contacts.find_one({"_id": "A-old"}))
    assert (await repo.contact("A-new")).contact == CONTACT
    # An annual-report notice a year on: the inbox message, and no e-mail or SMS left waiting for the contact.
    notice = Notice(template="t", recipient="91420111MA0000000W", audience=Audience.APPLICANT, facts={})
    _, deliveries = plan_notice("e1", "ce.type", "A-old", notice, erased.contact, Preferences(), list(Channel),
                                lambda *_: Rendered("t", "b"), NOW)
    assert deliveries == []
    await repo.save_contact(ApplicantContact(application_id="A-old", revision=2, contact=CONTACT))
    assert await retention.purge() == {"contacts.stored_at": 0}  # a new submission's contact starts its year
    assert (await repo.contact("A-old")).contact == CONTACT


async def test_a_one_time_code_and_its_contact_digest_are_forgotten_after_a_week(mongo_db: Any) -> None:
    [rule] = [r for r in retention_rules(NotifySettings()) if r.collection == "contact_verifications"]
    store = MongoStore(mongo_db, "contact_verifications", Challenge)  # as notify keeps them: times as text
    for n, sent in (("old", days_ago(8)), ("recent", days_ago(6))):
        await store.put(n, Challenge(id=n, channel=Channel.SMS, digest=contact_digest("13800000000"),
                                     code_hash="h", created_at=sent, expires_at=sent + timedelta(minutes=10)))
    retention = Retention(mongo_db, LOG, clock=lambda: NOW)
    retention.keep(rule)
    assert await retention.purge() == {"contact_verifications.created_at": 1}
    assert await ids(mongo_db.contact_verifications) == {"recent"}


async def test_an_objector_is_forgotten_a_year_after_the_resolution_but_the_objection_stays(mongo_db: Any) -> None:
    [rule] = [r for r in create_registry(RegistrySettings()).state.kit.retention.rules if r.collection == "objections"]

    def objection(n: str, status: str, resolved: datetime | None) -> dict[str, Any]:
        return {"_id": n, "name": "张三", "contact": "13800000000", "grounds": "所报数据与实际不符", "status": status,
                "resolved_at": resolved.isoformat().replace("+00:00", "Z") if resolved else None}

    await mongo_db.objections.insert_many([objection("old", "dismissed", days_ago(366)),
                                           objection("recent", "upheld", days_ago(100)),
                                           objection("pending", "pending", None)])
    retention = Retention(mongo_db, LOG, clock=lambda: NOW)
    retention.keep(rule)
    assert await retention.purge() == {"objections.resolved_at": 1}
    old = await mongo_db.objections.find_one({"_id": "old"})
    assert (old["contact"], old["grounds"], old["status"]) == ("", "所报数据与实际不符", "dismissed")
    assert "张三" not in old["name"]
    assert {d["contact"] async for d in mongo_db.objections.find({"_id": {"$ne": "old"}})} == {"13800000000"}


def test_a_rule_compares_text_times_as_records_store_them() -> None:
    query = Rule("objections", "resolved_at", 1, stored_as_text=True).query(NOW)
    assert query == {"resolved_at": {"$lt": "2026-12-03T12:00:00Z"}}
