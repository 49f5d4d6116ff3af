"""Helpers for tests against the real stack: HTTP as each role, polling with a deadline, Kafka reads."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient
from zhongshi_contracts.credit_code import make_credit_code
from zhongshi_runtime.auth import Role

from zhongshi.demo_materials import kinds_for, upload_parts
from zhongshi.launcher import Stack
from zhongshi.polling import eventually as eventually  # re-exported for the suites

T = TypeVar("T")


def niceness_of_threads(pid: int) -> list[int]:
    """The CPU niceness of each of the process's threads (field 19 of /proc/<pid>/task/<tid>/stat)."""
    values = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that ended meanwhile
            values.append(int((task / "stat").read_text().rpartition(")")[2].split()[16]))
    return values


def unique_credit_code(county: str = "420111", category: str = "91") -> str:
    return make_credit_code(f"{category}{county}{uuid.uuid4().hex[:9].upper()}")  # hex digits are all valid


def fresh_credit_code(applicant: dict[str, Any]) -> str:
    """A new credit code that agrees with the dossier applicant's county and legal-person kind."""
    category = "12" if applicant["legal_person_kind"] == "public_institution" else "91"
    return unique_credit_code(applicant["region_code"], category)


class Api:
    """The stack's HTTP APIs, called with a development token for a role and scope."""

    def __init__(self, stack: Stack, http: httpx.AsyncClient) -> None:
        self.stack, self.http = stack, http

    def headers(self, role: Role, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.token(role, scope)}"}

    async def call(self, method: str, service: str, path: str, role: Role | None = None, scope: str = "",
                   **kwargs: Any) -> httpx.Response:
        headers = {**(self.headers(role, scope) if role else {}), **kwargs.pop("headers", {})}
        return await self.http.request(method, self.stack.url(service) + path, headers=headers, **kwargs)

    async def open_round(self, **overrides: Any) -> str:
        round_id = f"R-{uuid.uuid4().hex[:8]}"
        body = {"id": round_id, "title": "测试批次", "opens_on": "2020-01-01", "closes_on": "2099-12-31",
                "rule_set_version": "hubei-2025-v1", **overrides}
        r = await self.call("POST", "intake", "/api/v1/rounds", Role.PROVINCE_OFFICIAL, "42", json=body)
        assert r.status_code == 201, r.text
        return round_id

    async def upload_materials(self, app_id: str, dossier: dict[str, Any], kinds: list[str] | None = None) -> None:
        """Upload a small real PDF of each kind (default: the mechanism documents the dossier declares, C9)."""
        code = dossier["applicant"]["credit_code"]
        for kind in kinds_for(dossier, []) if kinds is None else kinds:
            r = await self.call("POST", "intake", f"/api/v1/applications/{app_id}/materials", Role.APPLICANT, code,
                                **upload_parts(kind, dossier))
            assert r.status_code == 201, r.text

    async def submit(self, round_id: str, dossier: dict[str, Any]) -> dict[str, Any]:
        code = dossier["applicant"]["credit_code"]
        r = await self.call("POST", "intake", "/api/v1/applications", Role.APPLICANT, code,
                            json={"round_id": round_id, "dossier": dossier})
        assert r.status_code == 201, r.text
        await self.upload_materials(r.json()["id"], dossier)
        r = await self.call("POST", "intake", f"/api/v1/applications/{r.json()['id']}/submit", Role.APPLICANT, code)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def application(self, app_id: str) -> dict[str, Any]:
        r = await self.call("GET", "intake", f"/api/v1/applications/{app_id}", Role.PROVINCE_OFFICIAL, "42")
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def screened(self, app_id: str, timeout: float = 30) -> dict[str, Any]:
        async def done() -> dict[str, Any] | None:
            app = await self.application(app_id)
            return app if app["status"] not in ("draft", "submitted") else None

        return await eventually(done, f"{app_id} screened", timeout)

    async def metric(self, service: str, name: str, **labels: str) -> float:
        text = (await self.http.get(self.stack.url(service) + "/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return float(sample.value)
        return 0.0


async def read_topic(bootstrap: str, topic: str, match: Callable[[ConsumerRecord], bool],
                     timeout: float = 20) -> ConsumerRecord:
    """The first record on ``topic`` (from the beginning) that ``match`` accepts."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=20, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not partitions:
            await consumer.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    if match(record):
                        return record
        raise AssertionError(f"no matching record on {topic} within {timeout}s")
    finally:
        await consumer.stop()


async def notify_knows(stack: Stack, application_id: str) -> None:
    """Wait until notify holds the application's case. Notify reads the withdrawal's topic apart from the
    submission's: a withdrawal published before it has read the submission is told with no platform name, as live
    notify rightly does, while the later replay test's rebuild reads the two in order and names it."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.database_uri("notify"))
    try:
        async def known() -> bool:
            return await client.zhongshi_notify.cases.find_one({"_id": application_id}) is not None

        await eventually(known, "notify applied the submission", 60)
    finally:
        await client.close()
