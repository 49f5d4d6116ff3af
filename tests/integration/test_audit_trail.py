"""The sample round on the real stack leaves an audit record with its person for every step it took, and one
application's trail across the five services reads in time order."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner
from zhongshi_runtime.audit import SERVICE_ROLE, AuditRecord
from zhongshi_runtime.auth import Role

from zhongshi import cli, demo
from zhongshi.launcher import SERVICES, Stack
from zhongshi.trail import application_trail

pytestmark = pytest.mark.integration

# Each step an application's timeline shows → the audited action(s) of the person who took it, and their role.
PERSON_STEPS: dict[str, tuple[set[str], set[str]]] = {
    "pilot.application.submitted": ({"application.submit"}, {"applicant"}),
    "pilot.application.withdrawn": ({"application.withdraw"}, {"applicant"}),
    "pilot.application.recommended": ({"chain.recommend"}, {"county_official"}),
    "pilot.application.forwarded": ({"chain.forward", "chain.recommend"}, {"city_official", "county_official"}),
    "pilot.application.returned": ({"chain.return"}, {"county_official", "city_official"}),
    "pilot.application.rejected": ({"chain.reject"}, {"county_official", "city_official"}),
    "pilot.application.exception-decided": ({"chain.exception_approve", "chain.exception_refuse"},
                                            {"province_official"}),
    "pilot.review.panel-drawn": ({"panel.draw"}, {"province_official"}),
    "pilot.review.decided": ({"decision.confirm"}, {"province_official"}),
    "pilot.platform.accredited": ({"publicity.close"}, {"province_official"}),
    "pilot.platform.cultivation-listed": ({"publicity.close"}, {"province_official"}),
    "pilot.publicity.closed": ({"publicity.close"}, {"province_official"}),
}
AUTOMATIC_STEPS = {"pilot.application.screened": "screening.on_submitted"}  # the rules, not a person
CAUSAL_ORDER = ["application.create", "application.submit", "screening.on_submitted", "chain.", "panel.draw",
                "assignment.score", "decision.confirm", "publicity.open", "publicity.close"]


def trails(stack: Stack, ids: list[str]) -> dict[str, list[AuditRecord]]:
    urls = {name: stack.url(name) for name in SERVICES}
    token = stack.token(Role.PROVINCE_OFFICIAL, "42")  # who reads the experts' records in full

    async def all_trails() -> list[list[AuditRecord]]:
        async with httpx.AsyncClient(timeout=30) as http:
            return [await application_trail(urls, token, i, http) for i in ids]

    return dict(zip(ids, asyncio.run(all_trails()), strict=True))


def audit(stack: Stack, service: str, **params: Any) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
    response = httpx.get(f"{stack.url(service)}/api/v1/audit", params={**params, "limit": 500}, headers=headers,
                         timeout=30)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def first(trail: list[AuditRecord], action: str) -> int:
    """The position of the first record whose action starts with ``action`` (-1 when there is none)."""
    return next((n for n, r in enumerate(trail) if r.action.startswith(action)), -1)


def test_every_step_of_the_sample_round_has_a_record_with_its_person(stack: Stack) -> None:
    outcome = demo.load(stack)
    apps = {a["id"]: a for a in outcome.applications}
    by_app = trails(stack, list(apps))
    for app_id, app in apps.items():
        trail = by_app[app_id]
        for step in app["timeline"]:
            kind = step["event_type"]
            if kind in AUTOMATIC_STEPS:
                assert any(r.action == AUTOMATIC_STEPS[kind] and r.actor_role == SERVICE_ROLE for r in trail)
                continue
            actions, roles = PERSON_STEPS[kind]
            assert any(r.action in actions and r.actor_role in roles and r.actor_subject
                       and not r.actor_subject.startswith("service:") for r in trail), (app_id, kind)
            if kind not in ("pilot.application.submitted", "pilot.application.withdrawn"):  # consumed by intake
                assert any(r.service == "intake" and r.event_id == step["event_id"] for r in trail), (app_id, kind)
        if any(t["event_type"] == "pilot.review.decided" for t in app["timeline"]):
            assert any(r.action == "assignment.score" and r.actor_role == "expert" for r in trail), app_id
    for service, action in [("intake", "round.open"), ("screening", "round.settings"),
                            ("registry", "publicity.open"), ("registry", "objection.resolve"),
                            ("registry", "dev.clock")]:
        records = audit(stack, service, action=action)
        assert records and all(r["actor_subject"] and r["actor_role"] == "province_official" for r in records)
    filed = audit(stack, "registry", action="objection.file")  # other suites on this stack file objections too
    assert any(r["actor_subject"] == "objector-zhangsan" and r["actor_role"] == "applicant" for r in filed)
    assert "张三" not in str(filed) and "13800001111" not in str(filed)  # what was typed stays out of the trail


def test_one_application_s_trail_across_the_services_is_in_time_order(stack: Stack) -> None:
    outcome = demo.load(stack)
    listed = next(a for a in outcome.applications if a["status"] in ("accredited", "cultivation"))
    [trail] = trails(stack, [listed["id"]]).values()
    assert {r.service for r in trail} == set(SERVICES)  # all five services touched it
    assert all((a.at, a.seq) <= (b.at, b.seq) for a, b in itertools.pairwise(trail))
    positions = [first(trail, step) for step in CAUSAL_ORDER]  # each step caused by the one before it
    assert -1 not in positions, list(zip(CAUSAL_ORDER, positions, strict=True))
    assert positions == sorted(positions), list(zip(CAUSAL_ORDER, positions, strict=True))
    assert all(r.application_ids and listed["id"] in r.application_ids for r in trail)


def test_the_cli_prints_one_application_s_trail(stack: Stack) -> None:
    listed = next(a for a in demo.load(stack).applications if a["status"] in ("accredited", "cultivation"))
    env = {f"{name.upper()}_PORT": str(port) for name, port in stack.config.ports.items()}
    env["ZHONGSHI_IDP_PORT"] = str(stack.config.idp_port)
    result = CliRunner().invoke(cli.app, ["audit", "trail", listed["id"], "--var-dir", str(stack.var)], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == f"{len(lines) - 1} records" and len(lines) > 10
    # the applicant's own credit code: the first listed may be a public institution (12…) or a company (91…),
    # whichever the round's random panel draw put through
    code = listed["dossier"]["applicant"]["credit_code"]
    assert any("application.submit" in line and f"; applicant {code})" in line for line in lines)
    assert any("publicity.close" in line and "; province_official 42)" in line for line in lines)
    down = CliRunner().invoke(cli.app, ["audit", "trail", listed["id"], "--var-dir", str(stack.var)],
                              env={**env, "NOTIFY_PORT": "1"})
    assert down.exit_code == 1 and "notify" in down.output  # never a partial trail shown as whole
