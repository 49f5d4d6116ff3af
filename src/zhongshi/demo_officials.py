"""The sample round's simulated officials: county review, city forwarding within quotas, province
exception decisions — all through the public HTTP APIs, so a rerun finds nothing left to do."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
from zhongshi_contracts.reference import hubei_cities, hubei_counties
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from zhongshi import demo_data as d
from zhongshi.launcher import Stack

SETTLED = {"returned", "rejected", "declined", "expert_review", "exception_review", "city_review", "withdrawn"}


def _ok(response: httpx.Response, *expected: int) -> Any:
    if response.status_code not in expected:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json()


class Officials:
    def __init__(self, stack: Stack, http: httpx.Client, round_id: str) -> None:
        self.stack, self.http, self.round_id = stack, http, round_id
        self.screening = stack.url("screening") + "/api/v1"

    def auth(self, role: Role, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.stack.token(role, scope)}"}

    def queue(self, level: str, role: Role, scope: str) -> list[dict[str, Any]]:
        page = _ok(self.http.get(f"{self.screening}/queues/{level}", params={"round_id": self.round_id, "limit": 200},
                                 headers=self.auth(role, scope)), 200)
        return list(page["items"])

    def act(self, app_id: str, action: str, role: Role, scope: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"{self.screening}/applications/{app_id}/{action}", json=body,
                              headers=self.auth(role, scope))

    def set_round(self) -> None:
        today = shanghai_date(utc_now())
        settings = {
            "round_id": self.round_id,
            "quotas": {code: d.QUOTAS.get(code, d.DEFAULT_QUOTA) for code in hubei_cities()},
            "deadlines": {"county_review": str(today + timedelta(days=10)),
                          "city_review": str(today + timedelta(days=20)),
                          "exception_review": str(today + timedelta(days=30))},
        }
        _ok(self.http.put(f"{self.screening}/rounds/{self.round_id}/settings", json=settings,
                          headers=self.auth(Role.PROVINCE_OFFICIAL, "42")), 200)

    def counties_review(self) -> None:
        for county in sorted({c.code for c in hubei_counties().values()}):
            for item in self.queue("county", Role.COUNTY_OFFICIAL, county):
                name = item["applicant_name"]
                if name in d.COUNTY_RETURNS:
                    self.act(item["id"], "return", Role.COUNTY_OFFICIAL, county, {"opinion": d.COUNTY_RETURNS[name]})
                elif name in d.COUNTY_REJECTS:
                    self.act(item["id"], "reject", Role.COUNTY_OFFICIAL, county, {"opinion": d.COUNTY_REJECTS[name]})
                else:
                    _ok(self.act(item["id"], "recommend", Role.COUNTY_OFFICIAL, county,
                                 {"opinion": d.RECOMMEND_OPINION}), 200, 409)

    def cities_forward(self) -> None:
        """Each city ranks its queue (larger equipment value first) and forwards until its quota is used."""
        for city in hubei_cities():
            queue = self.queue("city", Role.CITY_OFFICIAL, city)
            if not queue:
                continue
            _ok(self.http.put(f"{self.screening}/rounds/{self.round_id}/priorities",
                              json={"application_ids": [i["id"] for i in queue]},
                              headers=self.auth(Role.CITY_OFFICIAL, city)), 200)
            for item in queue:
                r = self.act(item["id"], "forward", Role.CITY_OFFICIAL, city, {"opinion": d.FORWARD_OPINION})
                if r.status_code == 409:  # the quota is used up: the rest wait in the city's queue
                    break
                _ok(r, 200)

    def province_decides(self) -> None:
        for item in self.queue("province", Role.PROVINCE_OFFICIAL, "42"):
            refusal = d.EXCEPTION_REFUSALS.get(item["applicant_name"])
            body = {"approved": refusal is None, "justification": refusal or d.EXCEPTION_APPROVAL}
            _ok(self.act(item["id"], "exception-decision", Role.PROVINCE_OFFICIAL, "42", body), 200, 409)

    def progress(self) -> list[dict[str, Any]]:
        return list(_ok(self.http.get(f"{self.screening}/rounds/{self.round_id}/progress",
                                      headers=self.auth(Role.PROVINCE_OFFICIAL, "42")), 200))


def run_chain(stack: Stack, round_id: str, app_ids: list[str], timeout: float = 120) -> list[dict[str, Any]]:
    """Drive the recommendation chain for the round; return the per-city progress once intake shows it."""
    with httpx.Client(timeout=30) as http:
        officials = Officials(stack, http, round_id)
        officials.set_round()
        officials.counties_review()
        officials.cities_forward()
        officials.province_decides()
        wait_settled(stack, http, app_ids, timeout)
        return officials.progress()


def wait_settled(stack: Stack, http: httpx.Client, app_ids: list[str], timeout: float) -> None:
    """Until intake's timeline reflects every step screening has taken (the events have arrived)."""
    province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        behind = 0
        for app_id in app_ids:
            case = http.get(f"{stack.url('screening')}/api/v1/cases/{app_id}", headers=province)
            app = http.get(f"{stack.url('intake')}/api/v1/applications/{app_id}", headers=province).json()
            expected = {"returned"} if case.status_code == 404 else _intake_statuses(case.json())
            behind += app["status"] not in expected
        if not behind:
            return
        time.sleep(0.2)


LISTED = ("accredited", "cultivation", "objection_upheld")  # intake's statuses after publicity closed


def _intake_statuses(case: dict[str, Any]) -> set[str]:
    """What intake may show once it has caught up with screening's stage (or gone beyond it)."""
    stage = str(case["stage"])
    if stage == "expert_review":  # and beyond: decided, then listed once publicity closed
        return {stage, "proposed_accreditation", "proposed_cultivation", "review_declined", *LISTED}
    return {{"county_review": str(case["outcome"]), "screened_out": "returned"}.get(stage, stage)}
