"""A broker outage takes no HTTP API out of service: /ready stays 200 (reporting the broker separately), the
applicants' submissions are taken into the outbox, and every one is delivered once the broker is back. The
broker comes back with the contract's topics, whatever the clients reconnecting to it ask for."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from zhongshi_contracts.topics import ALL_TOPICS
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from tests.integration.helpers import fresh_credit_code
from zhongshi import demo, embedded
from zhongshi.launcher import Stack, StackConfig
from zhongshi.polling import wait_until

pytestmark = pytest.mark.integration

SUBMISSIONS = 4


def partition_counts(bootstrap: str) -> dict[str, int]:
    async def describe() -> dict[str, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            topics = await admin.describe_topics([topic.name for topic in ALL_TOPICS])
        finally:
            await admin.close()
        return {topic["topic"]: len(topic["partitions"]) for topic in topics}

    return asyncio.run(describe())


def submit(http: httpx.Client, stack: Stack, dossier: dict[str, Any]) -> str:
    code = dossier["applicant"]["credit_code"] = fresh_credit_code(dossier["applicant"])
    me = {"Authorization": f"Bearer {stack.token(Role.APPLICANT, code)}"}
    created = http.post("/api/v1/applications", headers=me, json={"round_id": "R-outage", "dossier": dossier})
    assert created.status_code == 201, created.text
    application = f"/api/v1/applications/{created.json()['id']}"
    demo.upload_materials(http, application, me, dossier, [], required=[])  # the documents C9 rests on
    submitted = http.post(f"{application}/submit", headers=me)
    assert submitted.status_code == 200, submitted.text
    return str(created.json()["id"])


def test_the_api_stays_ready_and_loses_nothing_while_the_broker_is_down(
    tmp_path: Path, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    stack = Stack(StackConfig.isolated(tmp_path, services=("intake", "screening")))
    try:
        stack.start()
        province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}  # from its provider
        with httpx.Client(base_url=stack.url("intake"), timeout=30) as http:
            http.post("/api/v1/rounds", headers=province, json={
                "id": "R-outage", "title": "中断测试", "opens_on": "2020-01-01", "closes_on": "2099-12-31",
                "rule_set_version": "hubei-2025-v1"}).raise_for_status()
            assert stack.broker is not None
            stack.broker.kill()
            stack.broker.wait(10)
            # a client that keeps asking for the topics' metadata, as the services' clients do on reconnecting
            stack.processes["metadata-client"] = embedded.spawn(
                [sys.executable, "-m", "tests.integration.metadata_client", stack.bootstrap], stack.log("metadata"))
            ready = wait_until(lambda: (r := http.get("/ready")).json().get("broker") == "unreachable" and r,
                               "intake reporting the broker unreachable", 90)
            assert ready.status_code == 200 and ready.json()["ready"] is True and ready.json()["database"] == "ok"

            today = shanghai_date(utc_now())
            ids = [submit(http, stack, dossier_json(i, today)) for i in range(SUBMISSIONS)]
            assert http.get("/ready").status_code == 200

            stack.start_broker()  # an empty broker on the same port: the outbox republishes what it holds
            assert partition_counts(stack.bootstrap) == {topic.name: topic.partitions for topic in ALL_TOPICS}

            def screened() -> dict[str, str] | None:
                statuses = {i: http.get(f"/api/v1/applications/{i}", headers=province).json()["status"] for i in ids}
                return statuses if all(s != "submitted" for s in statuses.values()) else None

            screenings = wait_until(screened, "every submission screened after the outage", 90)
            assert screenings == dict.fromkeys(ids, "eligible")
            wait_until(lambda: http.get("/ready").json()["broker"] == "ok", "intake reporting the broker back", 90)
    finally:
        stack.stop()
