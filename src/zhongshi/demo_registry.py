"""The sample round's publicity (公示) and registry: the province opens publicity for the decided round,
a citizen files a real-name objection that the province dismisses, and once the window has passed a
later run closes publicity, which issues the certificates."""

from __future__ import annotations

from typing import Any

import httpx
from zhongshi_runtime.auth import Role

from zhongshi.launcher import Stack

OBJECTION = {
    "name": "张三", "contact": "13800001111",
    "grounds": "该平台申报的技术成果转化项目中有一项系关联企业之间的内部转让，建议核实其真实性。",
    "evidence": ["合同复印件一份"],
}
DISMISSAL = "经核查，所涉技术成果转化合同真实有效，受让方与申报主体无关联关系，异议不成立。"


def run_publicity(stack: Stack, round_id: str) -> dict[str, Any]:
    """Open, object, resolve, and close when the window is over; return the publicity and the stats."""
    registry = stack.url("registry") + "/api/v1"
    province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
    with httpx.Client(timeout=30) as http:
        opened = http.post(f"{registry}/rounds/{round_id}/publicity", json={}, headers=province)
        if opened.status_code not in (200, 409):
            opened.raise_for_status()
        shown = http.get(f"{registry}/public/publicity/{round_id}")
        if shown.status_code != 200:  # e.g. the holiday calendar does not cover the window yet
            return {"publicity": None, "note": opened.json().get("detail", ""),
                    "stats": http.get(f"{registry}/public/stats").json()}
        publicity = shown.json()
        if not publicity["objections"] and publicity["items"]:
            target = publicity["items"][0]["application_id"]
            http.post(f"{registry}/publicity/{round_id}/objections", json={**OBJECTION, "application_id": target})
        for objection in http.get(f"{registry}/rounds/{round_id}/objections", headers=province).json():
            if objection["status"] == "pending":
                http.post(f"{registry}/objections/{objection['id']}/resolve",
                          json={"upheld": False, "reason": DISMISSAL}, headers=province)
        closed = http.post(f"{registry}/rounds/{round_id}/publicity/close", headers=province)
        return {"publicity": http.get(f"{registry}/public/publicity/{round_id}").json(),
                "note": "" if closed.status_code == 200 else closed.json().get("detail", ""),
                "stats": http.get(f"{registry}/public/stats").json()}
