"""A corpus of malformed input against the write endpoints of a live stack: each gets a 4xx whose body names
the offending field (``detail[].loc``, as every 422 of the project; a body over the limit gets a 413), and
nothing is stored.

Every operation with a request body gets the generic cases (bad JSON, a body that is not UTF-8, an array for
an object, a body over ``HTTP_MAX_BODY_BYTES``); the endpoints people fill in get field-level cases: wrong
types, huge strings, unknown enum values, boundary numbers, invalid credit codes and control characters."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from zhongshi_runtime.auth import Role
from zhongshi_runtime.settings import ServiceSettings

from tests.api.world import World
from tests.integration.helpers import Api
from zhongshi.launcher import SERVICES, Stack

pytestmark = pytest.mark.integration

LIMIT = ServiceSettings.model_fields["http_max_body_bytes"].default
HUGE = "中" * 20_000
GENERIC: dict[str, tuple[bytes, int, tuple[str, ...]]] = {
    # name: (raw body, status, the start of the location the error names)
    "bad JSON": (b'{"round_id": "R1", ', 422, ("body",)),
    "not UTF-8": (b'{"name": "\xff\xfe"}', 422, ("body",)),
    "an array for an object": (b"[1, 2, 3]", 422, ("body",)),
    # Starlette answers this one itself, in plain text, before any handler: the status is what is checked
    "over the size limit": (b'{"x": "' + b"a" * LIMIT + b'"}', 413, ()),
}


@pytest.fixture(scope="module")
async def world(api_stack: Stack) -> AsyncIterator[World]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield await World(Api(api_stack, http)).build(full=False)


async def stored(world: World) -> dict[str, int]:
    """How much every service holds, seen through its own API."""
    province, operator = (Role.PROVINCE_OFFICIAL, "42"), (Role.OPERATOR, "*")
    apps = await world.ok("GET", "intake", "/api/v1/applications", province, params={"limit": 1})
    return {
        "rounds": len(await world.ok("GET", "intake", "/api/v1/rounds", province)),
        "applications": apps["total"],
        "rule sets": len(await world.ok("GET", "screening", "/api/v1/rule-sets", province)),
        "experts": (await world.ok("GET", "review", "/api/v1/experts", province, params={"limit": 1}))["total"],
        "objections": len(await world.ok("GET", "registry", f"/api/v1/rounds/{world.ids['round']}/objections",
                                         province)),
        "annual reports": len(await world.ok("GET", "registry", f"/api/v1/platforms/{world.ids['platform']}"
                                             "/annual-reports", province)),
        "webhooks": len(await world.ok("GET", "notify", "/api/v1/webhooks", operator)),
    }


def names(response: httpx.Response, loc: tuple[str | int, ...]) -> bool:
    """Whether a 4xx body names the field at ``loc`` (a prefix of some ``detail[].loc``)."""
    if not loc:
        return True
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError):
        return False
    return isinstance(detail, list) and any(tuple(e["loc"][: len(loc)]) == loc and e["msg"] for e in detail)


async def write_operations(api_stack: Stack) -> list[tuple[str, str, str, tuple[Role, str] | None]]:
    """Every documented operation with a JSON body, with a caller its document admits."""
    found = []
    async with httpx.AsyncClient(timeout=30) as http:
        for service in SERVICES:
            paths = (await http.get(f"{api_stack.url(service)}/openapi.json")).json()["paths"]
            for path, ops in paths.items():
                for method, op in ops.items():
                    if "application/json" not in op.get("requestBody", {}).get("content", {}):
                        continue
                    roles = [r for req in op.get("security", []) for scopes in req.values() for r in scopes]
                    who = (Role(roles[0]), "91420111MA0000000W" if roles[0] == "applicant" else "42") if roles \
                        else ((Role.PROVINCE_OFFICIAL, "42") if op.get("security") else None)
                    found.append((service, method.upper(), path.replace("{", "x").replace("}", ""), who))
    return found


async def test_every_write_endpoint_refuses_malformed_bodies_naming_them(world: World, api_stack: Stack) -> None:
    before = await stored(world)
    operations = await write_operations(api_stack)
    wrong = []
    for service, method, path, who in operations:
        for case, (raw, status, loc) in GENERIC.items():
            r = await world.call(method, service, path, who, content=raw, headers={"Content-Type": "application/json"})
            if r.status_code != status or not names(r, loc):
                wrong.append(f"{method} {path} ({service}), {case}: {r.status_code} {r.text[:160]}")
    assert len(operations) >= 30
    assert wrong == []
    assert await stored(world) == before


Case = tuple[str, str, str, tuple[Role, str], Any, tuple[str | int, ...]]  # service, method, path, caller, body, loc


def _dossier_cases(world: World) -> list[Case]:
    me, apps, d = (Role.APPLICANT, world.code), "/api/v1/applications", ("body", "dossier")

    def application(**changes: Any) -> dict[str, Any]:
        """A draft's body with the dossier's dotted fields changed."""
        dossier = copy.deepcopy(world.dossier())
        for dotted, value in changes.items():
            *parents, leaf = dotted.split(".")
            target = dossier
            for key in parents:
                target = target[int(key)] if isinstance(target, list) else target[key]
            target[leaf] = value
        return {"round_id": world.ids["round"], "dossier": dossier}

    return [
        ("intake", "POST", apps, me, application(**{"applicant.credit_code": "91420111MA0000000X"}),
         (*d, "applicant", "credit_code")),  # a wrong check digit
        ("intake", "POST", apps, me, application(**{"applicant.region_code": "110101"}), (*d, "applicant")),
        ("intake", "POST", apps, me, application(**{"platform.platform_type": "spaceship"}),
         (*d, "platform", "platform_type")),
        ("intake", "POST", apps, me, application(**{"platform.clusters": ["not_a_cluster"]}),
         (*d, "platform", "clusters")),
        ("intake", "POST", apps, me, application(**{"platform.equipment_original_value": "-1"}),
         (*d, "platform", "equipment_original_value")),
        ("intake", "POST", apps, me, application(**{"platform.equipment_original_value": "12.345"}),
         (*d, "platform", "equipment_original_value")),
        ("intake", "POST", apps, me, application(**{"platform.site_area_m2": "abc"}),
         (*d, "platform", "site_area_m2")),
        ("intake", "POST", apps, me, application(**{"platform.professionals.rd": "eight"}),
         (*d, "platform", "professionals", "rd")),
        ("intake", "POST", apps, me, application(**{"platform.operating_since": "2999-01-01"}),
         (*d, "platform", "operating_since")),
        # lax conversions a person did not mean: 0 would be 1970-01-01, a platform "operating" for 56 years
        ("intake", "POST", apps, me, application(**{"platform.operating_since": 0}),
         (*d, "platform", "operating_since")),
        ("intake", "POST", apps, me, application(**{"platform.operating_since": "2020-01-01T00:00:00"}),
         (*d, "platform", "operating_since")),
        ("intake", "POST", apps, me, application(**{"platform.safety_facilities": 1}),
         (*d, "platform", "safety_facilities")),
        ("intake", "POST", apps, me, application(**{"platform.serves_external_clients": "yes"}),
         (*d, "platform", "serves_external_clients")),
        ("intake", "POST", apps, me, application(**{"platform.name": HUGE}), (*d, "platform", "name")),
        ("intake", "POST", apps, me, application(**{"platform.name": "平台\x00\x07名称"}), (*d, "platform", "name")),
    ]


def _field_cases(world: World) -> list[Case]:
    me, province = (Role.APPLICANT, world.code), (Role.PROVINCE_OFFICIAL, "42")
    city, operator = (Role.CITY_OFFICIAL, "420100"), (Role.OPERATOR, "*")
    report = world.bodies["annual_report"]
    platform = f"/api/v1/platforms/{world.ids['platform']}/annual-reports"
    round_ = world.bodies["new_round"]
    return [
        *_dossier_cases(world),
        ("intake", "POST", "/api/v1/applications", me, {"round_id": "R-none", "dossier": world.dossier()},
         ("body", "round_id")),
        ("intake", "POST", "/api/v1/rounds", province, {**round_, "id": f"R-c-{world.uid}", "opens_on": "soon"},
         ("body", "opens_on")),
        ("intake", "POST", "/api/v1/rounds", province, {**round_, "id": f"R-c2-{world.uid}", "title": HUGE},
         ("body", "title")),
        ("screening", "PUT", f"/api/v1/rounds/{world.ids['round']}/settings", province,
         {"round_id": world.ids["round"], "quotas": {"110000": 3}}, ("body", "quotas")),
        ("screening", "POST", f"/api/v1/applications/{world.ids['read']}/recommend", (Role.COUNTY_OFFICIAL, "420111"),
         {"opinion": "好"}, ("body", "opinion")),  # one character: below the minimum
        ("screening", "PUT", f"/api/v1/rounds/{world.ids['round']}/priorities", city,
         {"application_ids": ["a", "a"]}, ("body", "application_ids")),
        ("screening", "POST", "/api/v1/eligibility/check", me,
         {"dossier": world.dossier(), "rule_set_version": "none"}, ("body", "rule_set_version")),
        ("review", "PUT", f"/api/v1/experts/E-c-{world.uid}", province,
         {**world.bodies["new_expert"], "id": f"E-c-{world.uid}", "region_code": "42011"}, ("body", "region_code")),
        ("review", "PUT", f"/api/v1/experts/E-c2-{world.uid}", province,
         {**world.bodies["new_expert"], "id": f"E-c2-{world.uid}", "fields": ["steam"]}, ("body", "fields")),
        ("registry", "POST", platform, me, {**report, "year": 2023}, ("body", "year")),
        ("registry", "POST", platform, me, {**report, "year": world.today.year + 1}, ("body", "year")),
        ("registry", "POST", platform, me, {**report, "staff": -1}, ("body", "staff")),
        ("registry", "POST", platform, me, {**report, "service_revenue": "1e400"}, ("body", "service_revenue")),
        ("registry", "POST", f"/api/v1/publicity/{world.ids['round']}/objections", province,
         {**world.bodies["objection"], "grounds": "太短"}, ("body", "grounds")),
        ("notify", "PUT", "/api/v1/contacts/420111", operator, {"name": "某局", "email": "not-an-email"},
         ("body", "email")),
        ("notify", "PUT", "/api/v1/contacts/999999", operator, {"name": "某局"}, ("path", "scope")),
        ("notify", "POST", "/api/v1/webhooks", operator, {"url": "ftp://127.0.0.1/x", "event_types": ["x"]},
         ("body", "url")),
        ("notify", "PUT", "/api/v1/preferences", me, {"email": "perhaps"}, ("body", "email")),
        ("notify", "PUT", "/api/v1/preferences", me, {"sms": 0}, ("body", "sms")),
        ("registry", "POST", "/api/v1/objections/none/resolve", province,
         {"upheld": "false", "reason": "经核查异议不成立"}, ("body", "upheld")),
        ("screening", "POST", f"/api/v1/applications/{world.ids['read']}/exception-decision", province,
         {"approved": 1, "justification": "符合原则上条款"}, ("body", "approved")),
    ]


async def test_malformed_fields_are_refused_naming_the_field_and_change_nothing(world: World) -> None:
    before = await stored(world)
    wrong = []
    for service, method, path, who, body, loc in _field_cases(world):
        r = await world.call(method, service, path, who, json=body)
        if r.status_code != 422 or not names(r, loc):
            wrong.append(f"{method} {path}, {'.'.join(map(str, loc))}: {r.status_code} {r.text[:240]}")
    assert wrong == []
    assert await stored(world) == before
