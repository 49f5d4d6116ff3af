"""The audit trail on the real database: written in the change's transaction, read through the audit API."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from zhongshi_contracts.events import Event
from zhongshi_runtime.audit import Actor, Audit, ensure_audit_indexes
from zhongshi_runtime.audit_api import audit_router
from zhongshi_runtime.auth import Role
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import MongoUnitOfWork, Session
from zhongshi_runtime.testing import file_authenticator, mint_test_token

from .test_outbox import withdrawn

pytestmark = pytest.mark.integration

ZHANG = Actor("u-zhang", Role.PROVINCE_OFFICIAL.value, "42", "张三")
LI = Actor("u-li", Role.CITY_OFFICIAL.value, "420100", "李四")


def audit(actor: Actor, action: str, application_id: str, reason: str = "") -> Audit:
    return Audit(actor, action, "application", application_id, application_ids=[application_id], round_id="R1",
                 reason=reason, request_id=f"req-{action}")


class Probe:
    def __init__(self, db: Any, keys: Path, http: httpx.AsyncClient, uow: MongoUnitOfWork) -> None:
        self.db, self.keys, self.http, self.uow = db, keys, http, uow

    def auth(self, role: Role, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_test_token(self.keys, role=role, organisation=scope)}"}

    async def change(self, audit: Audit, fail: bool = False) -> None:
        async def work(session: Session) -> list[Event]:
            await self.db.changes.insert_one({"target": audit.target_id}, session=session)
            if fail:
                raise RuntimeError("refused after writing")
            return [withdrawn()]

        await self.uow.run(work, audit=audit)

    async def audit(self, **params: Any) -> dict[str, Any]:
        response = await self.http.get("/api/v1/audit", params=params, headers=self.auth(Role.PROVINCE_OFFICIAL, "42"))
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
async def probe(mongo_db: Any, tmp_path: Path) -> AsyncIterator[Probe]:
    await ensure_audit_indexes(mongo_db)
    app = FastAPI()
    app.state.authenticator = file_authenticator(tmp_path)
    uow = MongoUnitOfWork(mongo_db.client, mongo_db, source="/zhongshi/probe", metrics=RuntimeMetrics("probe"),
                          on_outbox=lambda: None)
    app.include_router(audit_router(mongo_db, uow, "probe"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield Probe(mongo_db, tmp_path, http, uow)


async def test_the_record_is_written_in_the_change_s_transaction(probe: Probe) -> None:
    await probe.change(audit(ZHANG, "application.submit", "A1"))
    with pytest.raises(RuntimeError):
        await probe.change(audit(ZHANG, "application.withdraw", "A2"), fail=True)
    assert [d["target"] async for d in probe.db.changes.find()] == ["A1"]
    assert [d["target_id"] async for d in probe.db.audit.find()] == ["A1"]
    assert await probe.db.outbox.count_documents({}) == 1


async def test_the_api_filters_pages_and_reads_newest_first(probe: Probe) -> None:
    await probe.change(audit(ZHANG, "application.submit", "A1"))
    await probe.change(audit(LI, "chain.forward", "A1", reason="同意推荐"))
    await probe.change(audit(LI, "chain.reject", "A2"))
    everything = await probe.audit()
    assert everything["total"] == 3
    assert [i["action"] for i in everything["items"]] == ["chain.reject", "chain.forward", "application.submit"]
    assert [i["action"] for i in (await probe.audit(application_id="A1"))["items"]] == [
        "chain.forward", "application.submit"]
    assert [i["target_id"] for i in (await probe.audit(actor="u-li"))["items"]] == ["A2", "A1"]
    forward = (await probe.audit(action="chain.forward"))["items"]
    assert [(i["actor_name"], i["reason"], i["request_id"]) for i in forward] == [
        ("李四", "同意推荐", "req-chain.forward")]
    assert (await probe.audit(target="A2"))["total"] == 1
    page = await probe.audit(offset=1, limit=1)
    assert (page["total"], [i["action"] for i in page["items"]]) == (3, ["chain.forward"])
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert (await probe.audit(**{"from": later}))["total"] == 0
    assert (await probe.audit(to=later))["total"] == 3
    beyond = await probe.http.get("/api/v1/audit", params={"from": "0001-01-01T00:00:00+01:00"},
                                  headers=probe.auth(Role.OPERATOR, "*"))
    assert beyond.status_code == 422 and beyond.json()["detail"][0]["loc"] == ["query", "from"]


async def test_only_the_province_and_operators_read_the_audit(probe: Probe) -> None:
    assert (await probe.http.get("/api/v1/audit")).status_code == 401
    for role, scope in ((Role.APPLICANT, "91420100MA4K000000"), (Role.CITY_OFFICIAL, "420100"),
                        (Role.EXPERT, "E1")):
        assert (await probe.http.get("/api/v1/audit", headers=probe.auth(role, scope))).status_code == 403
        assert (await probe.http.get("/api/v1/audit/export", headers=probe.auth(role, scope))).status_code == 403
    assert (await probe.http.get("/api/v1/audit", headers=probe.auth(Role.OPERATOR, "*"))).status_code == 200


async def test_who_the_experts_are_is_for_the_province_not_for_operators(probe: Probe) -> None:
    """A panel's members and an expert's own actions: an operator (the integration client too) sees that they
    happened, not who or what, and cannot find them by asking for an expert's id."""
    expert = Actor("E001", Role.EXPERT.value, "E001", "王专家")
    await probe.change(audit(expert, "assignment.score", "A1", reason="工艺成熟"))
    drawn = Audit(ZHANG, "panel.draw", "round", "R1", round_id="R1", outcome="A1：E001、E002", confidential=True)
    await probe.change(drawn)
    await probe.change(audit(LI, "chain.forward", "A1", reason="同意推荐"))
    operator = probe.auth(Role.OPERATOR, "*")
    shown = (await probe.http.get("/api/v1/audit", headers=operator)).json()["items"]
    by_action = {i["action"]: i for i in shown}
    assert "E001" not in str([by_action["assignment.score"], by_action["panel.draw"]])
    assert "王专家" not in str(shown) and "工艺成熟" not in str(shown)
    assert (by_action["chain.forward"]["actor_name"], by_action["chain.forward"]["reason"]) == ("李四", "同意推荐")
    found = await probe.http.get("/api/v1/audit", params={"actor": "E001"}, headers=operator)
    assert found.json()["total"] == 0
    export = await probe.http.get("/api/v1/audit/export", headers=operator)
    assert "E001" not in export.text and "王专家" not in export.text
    province = await probe.audit(actor="E001")
    assert [(i["actor_name"], i["reason"]) for i in province["items"]] == [("王专家", "工艺成熟")]
    assert "E001、E002" in str((await probe.audit(action="panel.draw"))["items"])


async def test_no_api_updates_or_deletes_a_record(probe: Probe) -> None:
    await probe.change(audit(ZHANG, "application.submit", "A1"))
    [record] = (await probe.audit())["items"]
    headers = probe.auth(Role.OPERATOR, "*")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert (await probe.http.request(method, "/api/v1/audit", headers=headers, json={})).status_code == 405
        one = await probe.http.request(method, f"/api/v1/audit/{record['id']}", headers=headers, json={})
        assert one.status_code in (404, 405)
    assert (await probe.audit())["items"] == [record]


async def test_exports_neutralise_formula_cells(probe: Probe) -> None:
    await probe.change(audit(ZHANG, "objection.resolve", "A1", reason="=HYPERLINK(\"http://evil\",\"点此\")"))
    headers = probe.auth(Role.PROVINCE_OFFICIAL, "42")
    exported = await probe.http.get("/api/v1/audit/export", params={"format": "csv"}, headers=headers)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    header, row = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert header[0] == "时间" and row[header.index("理由或意见")] == "'=HYPERLINK(\"http://evil\",\"点此\")"
    xlsx = await probe.http.get("/api/v1/audit/export", params={"format": "xlsx", "action": "objection.resolve"},
                                headers=headers)  # not the first export's own record
    sheet: Any = load_workbook(io.BytesIO(xlsx.content)).active
    cells = [c.value for c in list(sheet.iter_rows())[1]]
    assert "'=HYPERLINK(\"http://evil\",\"点此\")" in cells and "张三" in cells
    bad = await probe.http.get("/api/v1/audit/export", params={"format": "pdf"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "format"]


async def test_every_filter_has_an_index(probe: Probe) -> None:
    keys = [list(spec["key"]) async for spec in await probe.db.audit.list_indexes()]
    for field in ("application_ids", "actor_subject", "action", "target_id", "at"):
        assert any(k[0] == field for k in keys), field


async def test_an_export_of_the_trail_is_itself_audited_with_who_exported_how_many(probe: Probe) -> None:
    await probe.change(audit(ZHANG, "application.submit", "A1"))
    await probe.change(audit(LI, "chain.forward", "A1"))
    exported = await probe.http.get("/api/v1/audit/export", headers=probe.auth(Role.OPERATOR, "*"))
    assert exported.status_code == 200
    [record] = (await probe.audit(action="audit.export"))["items"]
    assert (record["actor_role"], record["target_kind"], record["target_id"], record["outcome"]) == (
        "operator", "audit_trail", "probe", "2 条")
