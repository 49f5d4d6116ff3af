"""Malformed records from outside producers, on the API suites' stack: the shared stack's registry is rebuilt
from its topics (the replay tests), and a record no consumer can read would be found there too."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationWithdrawn
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from tests.integration.helpers import Api, fresh_credit_code, notify_knows
from zhongshi import dlq
from zhongshi.launcher import Stack
from zhongshi.polling import eventually

WITHDRAWN = "pilot.application.withdrawn"  # read by screening (a record at a time) and notify (in batches)


@pytest.fixture
async def api(api_stack: Stack) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield Api(api_stack, http)


async def test_a_header_that_is_not_utf_8_is_dead_lettered_by_every_consumer_and_the_next_event_applied(
    api: Api, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    """Kafka headers are bytes, and FastStream reads them as UTF-8 before any handler runs: a record another
    producer sent with one that is not was acknowledged unread, alone (screening) or with the whole fetched batch
    around it (notify). Each consumer now dead-letters it, naming the header, and goes on."""
    stack, dossier = api.stack, dossier_json(0, shanghai_date(utc_now()))
    dossier["applicant"]["credit_code"] = fresh_credit_code(dossier["applicant"])
    real = await api.submit(await api.open_round(), dossier)
    await notify_knows(stack, real["id"])
    applicant, subject = dossier["applicant"], f"A-BADHEADER-{uuid.uuid4().hex[:8]}"
    withdrawal = ApplicationWithdrawn(application_id=subject, round_id=real["round_id"], revision=1,
                                      withdrawn_at=utc_now(), reason="", region_code=applicant["region_code"],
                                      applicant_credit_code=applicant["credit_code"], city_code=real["city_code"])
    headers = [(k, v.encode()) for k, v in CloudEvent.new(withdrawal.topic, source="/test", subject=subject).headers(
        ).items()] + [("x-note", "备注".encode("gb18030"))]  # a legacy system's encoding
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(WITHDRAWN, withdrawal.model_dump_json().encode(), key=subject.encode(),
                                     headers=headers)
    finally:
        await producer.stop()
    code = applicant["credit_code"]  # the next event on the topic, after the unreadable one:
    r = await api.call("POST", "intake", f"/api/v1/applications/{real['id']}/withdraw", Role.APPLICANT, code,
                       json={"reason": "企业战略调整"})
    assert r.status_code == 200, r.text

    urls = {name: stack.url(name) for name in ("screening", "notify")}  # one record at a time; batches

    async def dead_everywhere() -> list[dict[str, Any]] | None:
        found = [e for e in await dlq.listing(urls, stack.token(Role.OPERATOR, "*"), {}) if e["subject"] == subject]
        return found if len(found) == len(urls) else None

    found = await eventually(dead_everywhere, "the unreadable record dead-lettered by screening and notify", 60)
    assert all(e["kind"] == "invalid" and "x-note" in e["reason"] for e in found), found

    async def told() -> bool:  # notify read on past it
        items = (await api.call("GET", "notify", "/api/v1/inbox", Role.APPLICANT, code)).json()["items"]
        return any(m["title"] == "申报已撤回" for m in items)

    await eventually(told, "the withdrawal after it in the applicant's inbox", 60)
