"""The sample round's publicity (公示) and registry: the province opens publicity for the decided round, a
citizen logged in as the staff of another enterprise files a real-name objection (anonymous objections are
refused) that the province dismisses, and when the window has passed the
province closes publicity, which issues the certificates. The window is counted in working days, so the
sample round moves the registry's development clock (`/api/v1/dev/clock`, development only) to the
window's first day and then to the day after it ends."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from zhongshi_runtime.auth import Role

from zhongshi.launcher import Stack
from zhongshi.polling import wait_until

OBJECTION = {
    "name": "张三", "contact": "13800001111",
    "grounds": "该平台申报的技术成果转化项目中有一项系关联企业之间的内部转让，建议核实其真实性。",
    "evidence": ["合同复印件一份"],
}
OBJECTOR = ("91420100MA4KDEMO0X", "objector-zhangsan")  # the enterprise the objector logged in for, the person
DISMISSAL = "经核查，所涉技术成果转化合同真实有效，受让方与申报主体无关联关系，异议不成立。"


def run_publicity(stack: Stack, round_id: str, timeout: float = 30, opens_on: date | None = None) -> dict[str, Any]:
    """Open, object, resolve and close; return the publicity, the registry's date and the stats. ``timeout``
    per request: closing issues every entry of the round in one request (the 2,000 round of P2 needs minutes).
    ``opens_on`` sets the registry's clock before a publicity not opened yet (rounds run one after another
    would otherwise each start where the previous one's window ended)."""
    registry = stack.url("registry") + "/api/v1"
    province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
    with httpx.Client(timeout=timeout) as http:

        def set_clock(day: date) -> None:
            http.put(f"{registry}/dev/clock", json={"today": day.isoformat()}, headers=province).raise_for_status()

        def travel_to(day: date) -> None:  # forward only: a reload never moves the registry back
            if date.fromisoformat(http.get(f"{registry}/dev/clock", headers=province).json()["today"]) < day:
                set_clock(day)

        if opens_on is not None and http.get(f"{registry}/public/publicity/{round_id}").status_code == 404:
            set_clock(opens_on)
        def open_once_every_decision_arrived() -> tuple[httpx.Response] | None:  # they come by the broker
            r = http.post(f"{registry}/rounds/{round_id}/publicity", json={}, headers=province)
            return None if r.status_code == 409 and "未送达" in r.json().get("detail", "") else (r,)

        [opened] = wait_until(open_once_every_decision_arrived, "the registry holding every decision", timeout,
                              interval=0.2)
        if opened.status_code not in (200, 409):
            opened.raise_for_status()
        shown = http.get(f"{registry}/public/publicity/{round_id}")
        note = ""
        if shown.status_code != 200:  # e.g. the holiday calendar does not cover the window yet
            note = opened.json().get("detail", "")
        elif not shown.json().get("closed_at"):
            publicity = shown.json()
            travel_to(date.fromisoformat(publicity["starts_on"]))
            if not publicity["objections"] and publicity["items"]:
                target = publicity["items"][0]["application_id"]
                objector = {"Authorization": f"Bearer {stack.token(Role.APPLICANT, *OBJECTOR)}"}
                http.post(f"{registry}/publicity/{round_id}/objections", headers=objector,
                          json={**OBJECTION, "application_id": target}).raise_for_status()
            for objection in http.get(f"{registry}/rounds/{round_id}/objections", headers=province).json():
                if objection["status"] == "pending":
                    http.post(f"{registry}/objections/{objection['id']}/resolve",
                              json={"upheld": False, "reason": DISMISSAL}, headers=province).raise_for_status()
            travel_to(date.fromisoformat(publicity["ends_on"]) + timedelta(days=1))
            closed = http.post(f"{registry}/rounds/{round_id}/publicity/close", headers=province)
            note = "" if closed.status_code == 200 else closed.json().get("detail", "")
        entries = http.get(f"{registry}/public/platforms", params={"limit": 200}).json()["items"]
        return {"publicity": http.get(f"{registry}/public/publicity/{round_id}").json() if not note else None,
                "note": note, "today": http.get(f"{registry}/dev/clock", headers=province).json()["today"],
                "entries": [e for e in entries if e["round_id"] == round_id],
                "stats": http.get(f"{registry}/public/stats").json()}
