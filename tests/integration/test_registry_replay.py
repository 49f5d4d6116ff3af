"""The sample round ends in a published registry, and `zhongshi replay registry` rebuilds the registry from
the events alone into a state equal to the live one — after the lifecycle has touched every kind of event."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest
from typer.testing import CliRunner
from zhongshi_registry import replay
from zhongshi_registry.entries import NATIONAL_DIMENSIONS
from zhongshi_runtime.auth import Role
from zhongshi_runtime.rebuild import Report

from tests.integration.helpers import Api, eventually
from zhongshi import demo
from zhongshi.cli import app
from zhongshi.launcher import Stack

pytestmark = pytest.mark.integration

NATIONAL = {d: {"score": "85", "notes": "基础扎实"} for d in NATIONAL_DIMENSIONS}


async def lifecycle(api: Api, entries: list[dict[str, Any]]) -> None:
    """One annual report below the thresholds, a warning then good standing, a revocation for cause, and a
    national recommendation with its outcome: every lifecycle event at least once."""
    platforms = [e for e in entries if e["kind"] == "platform" and e["status"] != "revoked"]
    assert len(platforms) >= 3, entries
    first, second, third = platforms[:3]
    path = f"/api/v1/platforms/{first['id']}"
    report = {"year": 2026, "service_projects": 3, "clients_served": 5, "service_revenue": "100000.00",
              "technology_transfers": 0, "equipment_value": "20000000.00", "staff": 30}
    r = await api.call("POST", "registry", f"{path}/annual-reports", Role.APPLICANT,
                       first["applicant_credit_code"], json=report)
    assert r.status_code == 201, r.text
    assert r.json()["shortfalls"], "revenue and transfers both below the thresholds"
    steps = [(f"{path}/evaluations/2026", {"standing": "warning", "reason": "中试服务收入不达标",
                                           "rectify_by": "2027-06-30"}),
             (f"{path}/evaluations/2026", {"standing": "good", "reason": "已按期整改到位"}),
             (f"/api/v1/platforms/{second['id']}/revoke", {"reason": "申报材料弄虚作假，依规撤销认定"}),
             (f"/api/v1/platforms/{third['id']}/national-recommendation", {"profile": NATIONAL})]
    for step, body in steps:
        r = await api.call("POST", "registry", step, Role.PROVINCE_OFFICIAL, "42", json=body)
        assert r.status_code == 200, r.text
    r = await api.call("PUT", "registry", f"/api/v1/platforms/{third['id']}/national-recommendation/outcome",
                       Role.PROVINCE_OFFICIAL, "42", json={"outcome": "upgraded"})
    assert r.status_code == 200, r.text


async def test_replaying_the_registry_topics_rebuilds_the_live_registry(stack: Stack, api: Api,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = demo.load(stack)
    registry = outcome.registry
    assert registry["publicity"]["closed_at"], registry  # the window passed on the development clock
    numbers = [e["certificate_no"] for e in registry["entries"] if e["certificate_no"]]
    assert numbers and len(set(numbers)) == len(numbers) and all(n.startswith("鄂中试〔") for n in numbers)
    assert {e["kind"] for e in registry["entries"]} == {"platform", "cultivation"}
    assert "2030年目标进度" in demo.summary(outcome) and "登记簿（本批次）" in demo.summary(outcome)
    await lifecycle(api, registry["entries"])

    last: list[Report] = []
    counts: list[int] = []  # what the progress display is given: the records read so far
    # Every event's changes handed to the writer at once: the documents the lifecycle changes after their listing
    # are written again while the projection goes on (the CLI below replays with the default hand-overs).
    monkeypatch.setattr(replay, "FLUSH_EVERY", 1)
    monkeypatch.setattr(replay, "YIELD_EVERY", 1)

    async def equal() -> Report | None:
        counts.clear()
        into = f"replay_{uuid.uuid4().hex[:8]}"
        last[:] = [await replay.rebuild(stack.bootstrap, stack.database_uri("registry"), into,
                                        compare_with="zhongshi_registry", progress=counts.append)]
        return last[0] if last[0].differences == [] else None

    try:
        report = await eventually(equal, timeout=60, what="the rebuilt registry equal to the live one")
    except TimeoutError:  # zhongshi.polling gives up with a TimeoutError: show what still differs
        raise AssertionError(last[0].differences[:10]) from None
    assert not report.refused and not report.unreadable
    assert counts and counts == sorted(counts) and counts[-1] == report.records
    own = {"pilot.publicity.opened", "pilot.publicity.objection-filed", "pilot.publicity.objection-resolved",
           "pilot.publicity.closed", "pilot.platform.accredited", "pilot.platform.cultivation-listed",
           "pilot.platform.annual-report-filed", "pilot.platform.warned", "pilot.platform.standing-confirmed",
           "pilot.platform.revoked", "pilot.platform.national-recommended"}
    assert own <= set(report.applied), report.applied

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stack.bootstrap)
    monkeypatch.setenv("MONGODB_URI", stack.database_uri("registry"))
    result = await asyncio.to_thread(CliRunner().invoke, app, ["replay", "registry", "--into",
                                                                f"replay_{uuid.uuid4().hex[:8]}"])
    assert result.exit_code == 0, result.output
    assert "0 differences from zhongshi_registry" in result.output
    assert re.search(r"read \d+ records \([\d,]+/s; ", result.output), result.output
