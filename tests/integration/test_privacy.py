"""A small round on the shared stack, then every record of every public topic and every webhook body: no phone
number, e-mail, ID-card number or expert id is in any of them (issue #18 item 13)."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from zhongshi_contracts.topics import ALL_TOPICS
from zhongshi_notify.handlers import CONSUMED_EVENTS
from zhongshi_runtime.auth import Role
from zhongshi_runtime.logs import _EMAIL, _ID_CARD, _LANDLINE, _MOBILE

from tests.faults.flow import RoundFlow
from zhongshi.demo_review import expert_pool
from zhongshi.launcher import Stack, service_databases

pytestmark = pytest.mark.integration

PUBLIC_TOPICS = sorted(t.name for t in ALL_TOPICS if not t.internal)
PERSONAL_PATTERNS = {"mobile": _MOBILE, "landline": _LANDLINE, "e-mail": _EMAIL, "ID number": _ID_CARD}


async def _everything_on(bootstrap: str, topics: list[str]) -> list[tuple[str, bytes]]:
    """Every record on ``topics`` from the beginning up to their end offsets now: (topic, value)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=20, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # fetches every topic's metadata: partitions_for_topic reads the cache
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        found: list[tuple[str, bytes]] = []
        while any([await consumer.position(tp) < end[tp] for tp in partitions]):
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                found += [(tp.topic, r.value or b"") for r in records]
        return found
    finally:
        await consumer.stop()


# Opaque identifiers and digests: random hex, which now and then reads as a mobile number ("M-1768656047…")
OPAQUE = re.compile(r"^(id|.*_id|sha256)$")


def _strings(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every string value in a JSON document, with the key it is under."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _strings(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value, key)
    elif isinstance(node, str):
        yield key, node


def _matches(text: str) -> list[str]:
    return [f"{kind}: {m.group(0)}" for kind, pattern in PERSONAL_PATTERNS.items() for m in pattern.finditer(text)]


def _personal_in(text: str, experts: set[str]) -> list[str]:
    """What in ``text`` (a JSON document) is personal data: a pattern's match in a value that is not an opaque
    identifier, or any value that is an expert id."""
    try:
        document = json.loads(text)
    except ValueError:  # another test's poison message: the whole text is checked
        return _matches(text)
    values = list(_strings(document))
    return ([found for key, value in values if not OPAQUE.match(key) for found in _matches(value)]
            + [f"expert id: {value}" for _, value in values if value in experts])


def _subscribe_everything(stack: Stack) -> str:
    """A webhook subscription to every event type notify forwards (to a closed local port: the bodies count)."""
    forwarded = sorted({m.topic.name for m in CONSUMED_EVENTS})
    body = {"url": "http://127.0.0.1:9/privacy-hook", "event_types": forwarded, "description": "隐私测试"}
    auth = {"Authorization": f"Bearer {stack.token(Role.OPERATOR, '*')}"}
    r = httpx.post(stack.url("notify") + "/api/v1/webhooks", json=body, headers=auth, timeout=30)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_no_public_topic_and_no_webhook_carries_a_phone_an_email_an_id_number_or_an_expert_id(stack: Stack) -> None:
    subscription = _subscribe_everything(stack)
    round_id = f"RP-{uuid.uuid4().hex[:6]}"
    RoundFlow(stack, round_id, size=4, rate=10, log=lambda _: None, stage_timeout=240).run()
    experts = {e["id"] for e in expert_pool()}
    with service_databases(stack.database_uris) as db:
        experts |= {e["_id"] for e in db["review"].experts.find({}, {"_id": 1})}
        contacts = db["notify"].contacts.count_documents({})
        hooks = [d["body"] for d in db["notify"].deliveries.find({"recipient": subscription})]

    records = asyncio.run(_everything_on(stack.bootstrap, PUBLIC_TOPICS))
    ours = {topic for topic, value in records if f'"round_id":"{round_id}"'.encode() in value}
    # the round went through every stage whose events used to carry personal data
    assert {"pilot.application.submitted", "pilot.review.panel-drawn", "pilot.review.scored",
            "pilot.review.decided", "pilot.publicity.objection-resolved"} <= ours, sorted(ours)
    leaks = {f"{topic}: {p}" for topic, value in records for p in _personal_in(value.decode(), experts)}
    assert not leaks, sorted(leaks)[:20]

    assert {json.loads(h)["type"] for h in hooks} >= {"cn.gov.hubei.pilot.review.panel-drawn.v2",
                                                      "cn.gov.hubei.pilot.application.submitted.v2"}
    leaks = {p for h in hooks for p in _personal_in(h, experts)}
    assert not leaks, sorted(leaks)[:20]
    # and zhongshi itself still has what it needs: notify learnt the applicants' contacts from the internal topic
    assert contacts > 0


def test_the_detector_finds_personal_data_in_any_field_but_reads_no_phone_into_a_random_identifier() -> None:
    document = {"materials": [{"id": "M-17686560474d4351", "sha256": "13110012417d51838add96d28d0026a1"}],
                "dossier": {"contact": {"phone": "13802710001"}, "remark": "联系邮箱 pilot1@example.cn"},
                "lead": "E-0007"}
    assert sorted(_personal_in(json.dumps(document, ensure_ascii=False), {"E-0007"})) == [
        "e-mail: pilot1@example.cn", "expert id: E-0007", "mobile: 13802710001"]
