"""Intake → Kafka → screening → Kafka → intake, on the real Tansu broker and SecantusDB."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.topics import APPLICATION_SUBMITTED_INTERNAL as SUBMITTED  # the whole event: what services read
from zhongshi_runtime.auth import Role

from tests.integration.helpers import Api, eventually, read_topic
from zhongshi.launcher import Stack

pytestmark = pytest.mark.integration


async def test_a_submission_over_http_is_screened_into_the_timeline(
    api: Api, fresh_dossier: Callable[..., dict[str, Any]]
) -> None:
    round_id = await api.open_round()
    d = fresh_dossier(platform={"site_area_m2": "300"})
    began = time.monotonic()
    app = await api.submit(round_id, d)
    done = await api.screened(app["id"])
    print(f"submit→screened visible over HTTP in {time.monotonic() - began:.3f}s")
    assert done["status"] == "needs_exception"
    entry = done["timeline"][-1]
    assert entry["event_type"] == "pilot.application.screened" and entry["details"]["flagged"] == ["C6"]
    assert "C6 试验场地300㎡低于500㎡" in entry["summary"]
    code = d["applicant"]["credit_code"]
    report = await api.call("GET", "screening", f"/api/v1/screenings/{app['id']}", Role.APPLICANT, code)
    assert report.status_code == 200 and report.json()[0]["outcome"] == "needs_exception"

    async def inbox() -> list | None:  # type: ignore[type-arg]
        r = await api.call("GET", "notify", "/api/v1/inbox", Role.APPLICANT, code)
        items = r.json()["items"]
        return items if len(items) == 2 else None

    titles = [m["title"] for m in await eventually(inbox, what="two inbox messages")]
    assert any("形式审查结果" in t for t in titles)


async def test_return_correct_resubmit_is_screened_again_and_keeps_history(
    api: Api, fresh_dossier: Callable[..., dict[str, Any]]
) -> None:
    round_id = await api.open_round()
    d = fresh_dossier(platform={"professionals": {"management": 1, "rd": 1, "testing": 1, "quality": 1}})
    code = d["applicant"]["credit_code"]
    app = await api.submit(round_id, d)
    returned = await api.screened(app["id"])
    assert returned["status"] == "returned" and "C7" in returned["timeline"][-1]["summary"]
    fixed = await api.call("PATCH", "intake", f"/api/v1/applications/{app['id']}", Role.APPLICANT, code,
                           json={"platform": {"professionals": {"rd": 12}}})
    assert fixed.status_code == 200, fixed.text
    again = await api.call("POST", "intake", f"/api/v1/applications/{app['id']}/submit", Role.APPLICANT, code)
    assert again.json()["revision"] == 2
    final = await api.screened(app["id"])
    assert final["status"] == "eligible"
    assert [t["event_type"].rsplit(".", 1)[1] for t in final["timeline"]] == [
        "submitted", "screened", "submitted", "screened"]
    reports = (await api.call("GET", "screening", f"/api/v1/screenings/{app['id']}", Role.APPLICANT, code)).json()
    assert [(r["revision"], r["outcome"]) for r in reports] == [(1, "ineligible"), (2, "eligible")]


async def test_redelivering_the_same_event_changes_nothing(
    api: Api, stack: Stack, fresh_dossier: Callable[..., dict[str, Any]]
) -> None:
    round_id = await api.open_round()
    app = await api.submit(round_id, fresh_dossier())
    await api.screened(app["id"])
    record = await read_topic(stack.bootstrap, SUBMITTED.name, lambda r: r.key == app["id"].encode())
    duplicates_before = await api.metric("screening", "zhongshi_duplicate_events_total",
                                         topic=SUBMITTED.name)
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(SUBMITTED.name, record.value, key=record.key,
                                     headers=list(record.headers))
    finally:
        await producer.stop()

    async def absorbed() -> bool:
        now = await api.metric("screening", "zhongshi_duplicate_events_total", topic=SUBMITTED.name)
        return now == duplicates_before + 1

    await eventually(absorbed, what="the duplicate counted")
    code = (await api.application(app["id"]))["dossier"]["applicant"]["credit_code"]
    reports = (await api.call("GET", "screening", f"/api/v1/screenings/{app['id']}", Role.APPLICANT, code)).json()
    assert len(reports) == 1
    timeline = (await api.application(app["id"]))["timeline"]
    assert [t["event_type"] for t in timeline].count("pilot.application.screened") == 1


async def test_a_malformed_message_goes_to_the_dlq_and_the_next_is_processed(
    api: Api, stack: Stack, fresh_dossier: Callable[..., dict[str, Any]]
) -> None:
    poison_key = f"poison-{uuid.uuid4().hex[:8]}".encode()
    headers = CloudEvent.new(SUBMITTED, source="/test", subject=poison_key.decode()).headers()
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        for partition in range(SUBMITTED.partitions):  # poison every partition
            await producer.send_and_wait(SUBMITTED.name, b"{not json", key=poison_key,
                                         partition=partition, headers=[(k, v.encode()) for k, v in headers.items()])
    finally:
        await producer.stop()
    app = await api.submit(await api.open_round(), fresh_dossier())
    assert (await api.screened(app["id"]))["status"] == "eligible"

    def from_screening(record: ConsumerRecord) -> bool:  # notify dead-letters its copy too
        return record.key == poison_key and ("dlq_consumer_group", b"zhongshi-screening") in record.headers

    dead = await read_topic(stack.bootstrap, SUBMITTED.dlq, from_screening)
    why = {k: v.decode() for k, v in dead.headers}
    assert why["dlq_kind"] == "invalid" and why["dlq_source_topic"] == SUBMITTED.name
    assert "Invalid JSON" in why["dlq_reason"] and dead.value == b"{not json"
    assert await api.metric("screening", "zhongshi_dead_letters_total", topic=SUBMITTED.name, kind="invalid") >= 1


async def test_withdrawal_reaches_screening_and_the_inbox(
    api: Api, fresh_dossier: Callable[..., dict[str, Any]]
) -> None:
    d = fresh_dossier()
    code = d["applicant"]["credit_code"]
    app = await api.submit(await api.open_round(), d)
    await api.screened(app["id"])
    r = await api.call("POST", "intake", f"/api/v1/applications/{app['id']}/withdraw", Role.APPLICANT, code,
                       json={"reason": "企业战略调整"})
    assert r.json()["status"] == "withdrawn"

    async def told() -> bool:
        items = (await api.call("GET", "notify", "/api/v1/inbox", Role.APPLICANT, code)).json()["items"]
        return any(m["title"] == "申报已撤回" for m in items)

    await eventually(told, what="withdrawal in the inbox")


async def test_the_auth_boundary_over_http(api: Api, fresh_dossier: Callable[..., dict[str, Any]]) -> None:
    d = fresh_dossier()
    app = await api.submit(await api.open_round(), d)
    path = f"/api/v1/applications/{app['id']}"
    assert (await api.call("GET", "intake", path)).status_code == 401
    assert (await api.call("GET", "intake", path, Role.EXPERT, "E1")).status_code == 403
    assert (await api.call("GET", "intake", path, Role.APPLICANT, "91420111MA0000000X")).status_code == 404
    assert (await api.call("GET", "intake", path, Role.COUNTY_OFFICIAL, "420115")).status_code == 404
    assert (await api.call("GET", "intake", path, Role.COUNTY_OFFICIAL, "420111")).status_code == 200
    report = f"/api/v1/screenings/{app['id']}"
    assert (await api.call("GET", "screening", report)).status_code == 401
    assert (await api.call("GET", "screening", report, Role.CITY_OFFICIAL, "420500")).status_code == 404
    assert (await api.call("POST", "screening", "/api/v1/rule-sets", Role.APPLICANT, "x", json={})).status_code == 403


async def test_every_service_is_healthy_ready_and_exposes_metrics_and_asyncapi(api: Api, stack: Stack) -> None:
    for name in ("intake", "screening", "review", "registry", "notify"):
        base = stack.url(name)
        assert (await api.http.get(base + "/health")).json()["status"] == "ok"
        assert (await api.http.get(base + "/ready")).json() == {"ready": True, "database": "ok", "broker": "ok"}
        assert "zhongshi_outbox_pending" in (await api.http.get(base + "/metrics")).text
        assert (await api.http.get(base + "/asyncapi.json")).json()["asyncapi"].startswith("3.")
