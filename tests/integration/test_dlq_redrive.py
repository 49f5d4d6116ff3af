"""Issue 18 item 10 on the real stack: a dead letter is redriven with its original CloudEvent id, the later
event of its application waits (parked) and is applied after it, in order, the other consumer groups absorb
the duplicate, the redrive is audited, and the DLQ gauge shows the current size."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationWithdrawn
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import utc_now

from tests.integration.helpers import Api, notify_knows, read_topic
from zhongshi import dlq
from zhongshi.launcher import Stack
from zhongshi.polling import eventually

SUBMITTED, WITHDRAWN = "pilot.internal.application.submitted", "pilot.application.withdrawn"  # where consumers read


def headers_of(record: ConsumerRecord) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers}


async def publish(stack: Stack, topic: str, key: str, body: bytes, headers: dict[str, str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, body, key=key.encode(),
                                     headers=[(k, v.encode()) for k, v in headers.items()])
    finally:
        await producer.stop()


async def screening_dlq(api: Api, **params: str) -> list[dict[str, Any]]:
    token = api.stack.token(Role.OPERATOR, "*")
    return await dlq.listing({"screening": api.stack.url("screening")}, token, params)


async def gauge_matches(api: Api, status: str) -> None:
    """The gauge (refreshed every few seconds) equals what the API lists for the topic."""
    async def same() -> bool:
        listed = await screening_dlq(api, topic=SUBMITTED, status=status)
        shown = await api.metric("screening", "zhongshi_dlq_messages", topic=SUBMITTED, status=status)
        return shown == len(listed)

    await eventually(same, f"the {status} gauge of {SUBMITTED} shows the DLQ's size", 90)


async def dead_letter_a_submission(api: Api, stack: Stack, dossier: dict[str, Any]
                                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A copy of a real submission under a new subject and an unknown rule set, which screening rejects to its
    DLQ: the copy's body and its dead letter."""
    round_id = await api.open_round()
    real = await api.submit(round_id, dossier)
    template = await read_topic(stack.bootstrap, SUBMITTED, lambda r: headers_of(r).get("ce_subject") == real["id"])
    uid = uuid.uuid4().hex[:8]
    subject = f"A-REDRIVE-{uid}"
    body = {**json.loads(template.value), "application_id": subject, "rule_set_version": f"redrive-{uid}"}
    original = {**headers_of(template), "ce_id": str(uuid.uuid4()), "ce_subject": subject}
    await publish(stack, SUBMITTED, subject, json.dumps(body).encode(), original)

    async def dead() -> list[dict[str, Any]] | None:
        found = [e for e in await screening_dlq(api) if e["subject"] == subject]
        return found or None

    [head] = await eventually(dead, "the submission dead-lettered by screening", 60)
    assert (head["kind"], head["status"], head["event_id"]) == ("rejected", "dead", original["ce_id"])
    shown = (await api.call("GET", "screening", f"/api/v1/dlq/{head['id']}", Role.OPERATOR, "*")).json()
    contact = body["dossier"]["applicant"]["contact"]  # the operator reads the event, not the applicant's contact
    assert subject in shown["body"] and not any(contact[k] in shown["body"] for k in ("name", "phone", "email"))
    return body, head


async def withdraw_behind(api: Api, stack: Stack, body: dict[str, Any], head: dict[str, Any]) -> None:
    """Publish the application's withdrawal, and see it parked behind its dead submission."""
    subject, applicant = body["application_id"], body["dossier"]["applicant"]
    withdrawal = ApplicationWithdrawn(application_id=subject, round_id=body["round_id"], revision=body["revision"],
                                      withdrawn_at=utc_now(), reason="", region_code=applicant["region_code"],
                                      applicant_credit_code=applicant["credit_code"], city_code=body["city_code"])
    later = CloudEvent.new(withdrawal.topic, source="/test", subject=subject).headers()
    await publish(stack, WITHDRAWN, subject, withdrawal.model_dump_json().encode(), later)

    async def parked() -> dict[str, Any] | None:
        return next((e for e in await screening_dlq(api) if e["subject"] == subject and e["status"] == "parked"),
                    None)

    waiting = await eventually(parked, "the withdrawal parked behind the dead submission", 60)
    assert waiting["event_id"] == later["ce_id"] and head["id"] in waiting["reason"]


async def add_rule_set(api: Api, version: str) -> None:
    """The cause fixed: the rule set the submission named now exists."""
    rule_set = (await api.call("GET", "screening", "/api/v1/rule-sets/hubei-2025-v1", Role.OPERATOR, "*")).json()
    added = await api.call("POST", "screening", "/api/v1/rule-sets", Role.PROVINCE_OFFICIAL, "42",
                           json={**rule_set, "version": version})
    assert added.status_code == 201, added.text


async def applied_in_order(api: Api, stack: Stack, subject: str) -> None:
    """The redriven submission screened, the parked withdrawal released and applied after it."""
    screened = await read_topic(stack.bootstrap, "pilot.application.screened",
                                lambda r: headers_of(r).get("ce_subject") == subject, timeout=60)
    assert json.loads(screened.value)["application_id"] == subject

    async def released() -> bool:
        return not [e for e in await screening_dlq(api) if e["subject"] == subject]

    await eventually(released, "the parked withdrawal released", 60)

    async def applied() -> list[str] | None:
        trail = (await api.call("GET", "screening", "/api/v1/audit", Role.OPERATOR, "*",
                                params={"application_id": subject, "limit": 50})).json()["items"]
        actions = [r["action"] for r in reversed(trail)]  # oldest first
        return actions if "screening.on_withdrawn" in actions else None

    actions = await eventually(applied, "the released withdrawal applied", 60)
    assert actions.index("screening.on_submitted") < actions.index("screening.on_withdrawn"), actions


async def test_a_redriven_dead_letter_is_applied_before_the_event_parked_behind_it(
    api: Api, stack: Stack, fresh_dossier: Callable[..., dict[str, Any]]
) -> None:
    body, head = await dead_letter_a_submission(api, stack, fresh_dossier())
    subject = body["application_id"]
    await notify_knows(stack, subject)
    await withdraw_behind(api, stack, body, head)
    await gauge_matches(api, "dead")
    await add_rule_set(api, body["rule_set_version"])
    duplicates = await api.metric("notify", "zhongshi_duplicate_events_total", topic=SUBMITTED)
    done = await dlq.redrive({"screening": stack.url("screening")}, stack.token(Role.OPERATOR, "*"), {}, head["id"])
    assert done == {"screening": [head["id"]]}
    await applied_in_order(api, stack, subject)
    redrives = (await api.call("GET", "screening", "/api/v1/audit", Role.OPERATOR, "*",
                               params={"action": "dlq.redrive", "target": head["id"]})).json()["items"]
    assert [(r["actor_role"], r["target_kind"]) for r in redrives] == [("operator", "dead_letter")]

    async def absorbed() -> bool:  # notify applied the submission the first time: the copy changes nothing
        return await api.metric("notify", "zhongshi_duplicate_events_total", topic=SUBMITTED) > duplicates

    await eventually(absorbed, "notify absorbed the redriven copy", 60)
    again = await api.call("POST", "screening", f"/api/v1/dlq/{head['id']}/redrive", Role.OPERATOR, "*")
    assert again.status_code == 409
    assert (await api.call("GET", "screening", "/api/v1/dlq", Role.PROVINCE_OFFICIAL, "42")).status_code == 403

