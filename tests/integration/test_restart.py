"""The embedded broker keeps nothing across restarts; the outbox must make sure nothing is lost."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from tests.integration.helpers import fresh_credit_code
from zhongshi.demo import upload_materials
from zhongshi.launcher import SERVICES, Stack, StackConfig
from zhongshi.polling import wait_until

pytestmark = pytest.mark.integration


def test_a_restart_of_the_embedded_stack_loses_no_in_flight_application(
    tmp_path: Path, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    stack = Stack(StackConfig.isolated(tmp_path, services=("intake", "screening")))
    ids: list[str] = []
    try:
        stack.start()  # intake learns the rule sets screening announces ...
        stack.stop_service("screening")  # ... then screening is down: every submission stays in flight
        province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
        with httpx.Client(base_url=stack.url("intake"), timeout=30) as http:
            http.post("/api/v1/rounds", headers=province, json={
                "id": "R-restart", "title": "重启测试", "opens_on": "2020-01-01", "closes_on": "2099-12-31",
                "rule_set_version": "hubei-2025-v1"}).raise_for_status()
            for n in range(5):
                d = dossier_json(n, shanghai_date(utc_now()))
                d["applicant"]["credit_code"] = code = fresh_credit_code(d["applicant"])
                me = {"Authorization": f"Bearer {stack.token(Role.APPLICANT, code)}"}
                app = http.post("/api/v1/applications", headers=me, json={"round_id": "R-restart", "dossier": d})
                upload_materials(http, f"/api/v1/applications/{app.json()['id']}", me, d, [], required=[])
                http.post(f"/api/v1/applications/{app.json()['id']}/submit", headers=me).raise_for_status()
                ids.append(app.json()["id"])
    finally:
        stack.stop()  # the broker and every record on it are gone now

    stack.config.services = SERVICES
    try:
        stack.start()  # a new, empty broker: intake's outbox replays what screening never saw
        with httpx.Client(base_url=stack.url("intake"), timeout=30) as http:

            def screened() -> dict[str, str] | None:
                statuses = {i: http.get(f"/api/v1/applications/{i}", headers=province).json()["status"] for i in ids}
                return None if "submitted" in statuses.values() else statuses

            assert wait_until(screened, "every application screened", 60) == dict.fromkeys(ids, "eligible")
            for i in ids:
                timeline = http.get(f"/api/v1/applications/{i}", headers=province).json()["timeline"]
                assert [t["event_type"] for t in timeline] == ["pilot.application.submitted",
                                                               "pilot.application.screened"]
    finally:
        stack.stop()

    stack.config.services = ("intake", "screening")  # the two whose absorbed duplicates are counted below
    try:
        stack.start()  # once more: everything is replayed, and the idempotent consumers absorb all of it
        with httpx.Client(timeout=30) as http:
            wait_for_metric(http, stack.url("screening"), 'topic="pilot.internal.application.submitted"', 5)
            wait_for_metric(http, stack.url("intake"), 'topic="pilot.application.screened"', 5)
            for i in ids:
                app = http.get(f"{stack.url('intake')}/api/v1/applications/{i}", headers=province).json()
                assert len(app["timeline"]) == 2 and app["status"] == "eligible"
    finally:
        stack.stop()


def wait_for_metric(http: httpx.Client, base: str, labels: str, expected: float, timeout: float = 60) -> None:
    """Poll the duplicate counter with these labels until it reaches ``expected``; it must not pass it."""

    def absorbed() -> float:
        lines = http.get(base + "/metrics").text.splitlines()
        found = [float(line.rsplit(" ", 1)[1]) for line in lines
                 if line.startswith("zhongshi_duplicate_events_total{") and labels in line]
        return found[0] if found and found[0] >= expected else 0.0

    assert wait_until(absorbed, f"{labels}: {expected} duplicates absorbed", timeout) == expected
