"""Application materials on the real stack: GridFS storage, refusals that store nothing, who may download,
required kinds, the printable form, references on the submitted event, draft deletion and the purge command."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import MongoClient
from pypdf import PdfReader
from typer.testing import CliRunner, Result
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import Event
from zhongshi_contracts.review import AssignmentDeclined, PanelDrawn
from zhongshi_contracts.topics import APPLICATION_SUBMITTED
from zhongshi_intake import domain, materials
from zhongshi_intake.material_store import MaterialStore, Uploader, new_record
from zhongshi_intake.repository import MongoIntakeRepository
from zhongshi_intake.settings import IntakeSettings
from zhongshi_runtime.audit import Actor, Audit
from zhongshi_runtime.auth import Principal, Role
from zhongshi_runtime.outbox import UnitOfWork
from zhongshi_runtime.testing import envelope, watched

from tests.integration.helpers import Api, eventually, read_topic, unique_credit_code
from zhongshi.cli import app as cli
from zhongshi.demo_materials import sample_pdf
from zhongshi.launcher import Stack

pytestmark = pytest.mark.integration
MIB = 1024 * 1024


class Applicant:
    """One applicant's draft on the stack, and the intake database beneath it."""

    def __init__(self, api: Api, stack: Stack, dossier: dict[str, Any]) -> None:
        self.api, self.stack, self.dossier = api, stack, dossier
        self.code = dossier["applicant"]["credit_code"]
        self.id = ""

    async def draft(self, round_id: str) -> Applicant:
        r = await self.api.call("POST", "intake", "/api/v1/applications", Role.APPLICANT, self.code,
                                json={"round_id": round_id, "dossier": self.dossier})
        assert r.status_code == 201, r.text
        self.id = r.json()["id"]
        return self

    async def upload(self, content: bytes, name: str = "材料.pdf", kind: str = "equipment_list",
                     **form: str) -> Any:
        return await self.api.call("POST", "intake", f"/api/v1/applications/{self.id}/materials", Role.APPLICANT,
                                   self.code, files={"file": (name, content, "application/pdf")},
                                   data={"kind": kind, "title": "设备清单", **form})

    async def get(self, path: str, who: tuple[Role, str] | None) -> Any:
        role, scope = who if who else (None, "")
        return await self.api.call("GET", "intake", f"/api/v1/applications/{self.id}{path}", role, scope)

    def stored(self) -> tuple[int, int, int]:
        """GridFS files and chunks of this application, and its material records — counted in the database."""
        with MongoClient[dict[str, Any]](self.stack.database_uri("intake")) as client:
            db = client["zhongshi_intake"]
            files = [f["_id"] for f in db["material_files.files"].find({"metadata.application_id": self.id})]
            return (len(files), db["material_files.chunks"].count_documents({"files_id": {"$in": files}}),
                    db.materials.count_documents({"application_id": self.id}))


@pytest.fixture
async def applicant(api: Api, stack: Stack, fresh_dossier: Callable[..., dict[str, Any]]) -> Applicant:
    return await Applicant(api, stack, fresh_dossier()).draft(await api.open_round())


async def test_upload_then_download_byte_identical_with_its_checksum(applicant: Applicant) -> None:
    content = sample_pdf("equipment_list", applicant.dossier) + b"\n%" + b"x" * (600 * 1024)  # several chunks
    r = await applicant.upload(content, name="../../设备清单 2026.pdf")
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["sha256"] == hashlib.sha256(content).hexdigest() and record["size"] == len(content)
    assert record["media_type"] == "application/pdf" and record["filename"] == "设备清单 2026.pdf"
    assert record["uploaded_by"]["organisation"] == applicant.code
    assert applicant.stored() == (1, 3, 1)  # 255 KiB chunks
    got = await applicant.get(f"/materials/{record['id']}", (Role.APPLICANT, applicant.code))
    assert got.status_code == 200 and got.content == content
    assert hashlib.sha256(got.content).hexdigest() == record["sha256"]
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''%E8%AE%BE%E5%A4%87%E6%B8%85%E5%8D%95%202026.pdf" in got.headers["content-disposition"]
    with MongoClient[dict[str, Any]](applicant.stack.database_uri("intake")) as client:
        audit = client["zhongshi_intake"].audit.find_one({"action": "material.download", "target_id": record["id"]})
    assert audit is not None and audit["application_ids"] == [applicant.id]
    assert (audit["actor_role"], audit["actor_organisation"]) == ("applicant", applicant.code)
    assert audit["actor_subject"]  # the person who downloaded it


def _office(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


DOCX_TYPES = (b'<Types><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
              b'officedocument.wordprocessingml.document.main+xml"/></Types>')
REFUSED = {
    "an executable renamed .pdf": (b"MZ\x90\x00" + b"\x00" * 4096, 415, "可执行文件"),
    "an empty file": (b"", 422, "文件为空"),
    "a zip bomb inside a docx": (_office({"[Content_Types].xml": DOCX_TYPES, "word/document.xml": b"<w/>",
                                          "word/media/bomb.bin": b"\0" * (120 * MIB)}), 422, "压缩炸弹"),
    "a file over the limit": (b"%PDF-1.7\n" + b"0" * (20 * MIB), 422, "超过单个文件上限"),
}


@pytest.mark.parametrize("case", list(REFUSED))
async def test_a_refused_file_names_the_problem_and_stores_nothing(applicant: Applicant, case: str) -> None:
    content, status, words = REFUSED[case]
    r = await applicant.upload(content, name="申报书.pdf")
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    message = detail if isinstance(detail, str) else detail[0]["msg"]
    assert words in message
    if status == 422:
        assert detail[0]["loc"] == ["body", "file"]
    assert applicant.stored() == (0, 0, 0)
    listed = await applicant.get("", (Role.APPLICANT, applicant.code))
    assert listed.json()["materials"] == []


async def test_a_malformed_form_is_refused_naming_the_body(applicant: Applicant) -> None:
    r = await applicant.api.call("POST", "intake", f"/api/v1/applications/{applicant.id}/materials", Role.APPLICANT,
                                 applicant.code, content=b"--b0\r\n[]--b0--\r\n",  # found by the fuzz test
                                 headers={"Content-Type": "multipart/form-data; boundary=b0"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"], r.text
    assert "表单数据" in r.json()["detail"][0]["msg"] and applicant.stored() == (0, 0, 0)


async def test_an_unknown_kind_or_a_title_with_control_characters_is_refused(applicant: Applicant) -> None:
    pdf = sample_pdf("other", applicant.dossier)
    r = await applicant.upload(pdf, kind="virus")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "kind"]
    r = await applicant.upload(pdf, title="设备\x1b清单")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "title"]
    assert applicant.stored() == (0, 0, 0)


async def test_replacing_keeps_the_earlier_version_and_submission_freezes_them(
        api: Api, stack: Stack, fresh_dossier: Callable[..., dict[str, Any]]) -> None:
    me = await Applicant(api, stack, fresh_dossier()).draft(await api.open_round())
    await api.upload_materials(me.id, me.dossier)  # the three mechanism documents (C9)
    first = (await me.upload(b"%PDF-1.4 first")).json()
    unknown = await me.upload(b"%PDF-1.4 second", replaces="M-not-there")
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "replaces"]
    second = await me.upload(b"%PDF-1.4 second", replaces=first["id"])
    assert second.status_code == 201 and second.json()["version"] == 2
    listing = (await me.get("/materials", (Role.APPLICANT, me.code))).json()
    assert first["id"] not in listing["current"] and second.json()["id"] in listing["current"]
    assert {v["id"] for v in listing["versions"]} >= {first["id"], second.json()["id"]}
    r = await api.call("POST", "intake", f"/api/v1/applications/{me.id}/submit", Role.APPLICANT, me.code)
    assert r.status_code == 200, r.text
    frozen = await me.upload(b"%PDF-1.4 third")
    assert frozen.status_code == 409 and "冻结" in frozen.json()["detail"]
    record = await read_topic(stack.bootstrap, APPLICATION_SUBMITTED.name, lambda r: r.key == me.id.encode())
    event = json.loads(record.value)
    assert b"%PDF" not in record.value
    assert {m["id"] for m in event["materials"]} == set(listing["current"])
    assert set(event["materials"][0]) == {"id", "kind", "title", "sha256", "size"}
    screened = await api.screened(me.id)
    assert screened["status"] == "eligible"  # C9 passes on the uploaded mechanism documents


async def test_c9_returns_an_application_whose_mechanism_documents_are_only_typed(
        api: Api, stack: Stack, fresh_dossier: Callable[..., dict[str, Any]]) -> None:
    me = await Applicant(api, stack, fresh_dossier()).draft(await api.open_round())
    await api.upload_materials(me.id, me.dossier, ["operations_management", "service_process"])
    await api.call("POST", "intake", f"/api/v1/applications/{me.id}/submit", Role.APPLICANT, me.code)
    screened = await api.screened(me.id)
    assert screened["status"] == "returned" and "C9 未上传安全环保管理制度" in screened["timeline"][-1]["summary"]


async def test_a_submission_missing_a_required_kind_is_refused_naming_it(
        api: Api, stack: Stack, fresh_dossier: Callable[..., dict[str, Any]]) -> None:
    round_id = await api.open_round(required_materials=["application_form", "equipment_list", "site_proof"])
    me = await Applicant(api, stack, fresh_dossier()).draft(round_id)
    await api.upload_materials(me.id, me.dossier, ["application_form"])
    r = await api.call("POST", "intake", f"/api/v1/applications/{me.id}/submit", Role.APPLICANT, me.code)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "materials", "equipment_list"],
                                                      ["body", "materials", "site_proof"]]
    assert "设备清单" in r.json()["detail"][0]["msg"] and "场地证明" in r.json()["detail"][0]["msg"]
    assert (await api.application(me.id))["status"] == "draft"


async def test_the_form_pdf_holds_the_dossier_verdict_materials_and_commitment(
        api: Api, stack: Stack, fresh_dossier: Callable[..., dict[str, Any]]) -> None:
    me = await Applicant(api, stack, fresh_dossier()).draft(await api.open_round())
    await api.upload_materials(me.id, me.dossier)
    await api.call("POST", "intake", f"/api/v1/applications/{me.id}/submit", Role.APPLICANT, me.code)
    await api.screened(me.id)
    r = await me.get("/form.pdf", (Role.COUNTY_OFFICIAL, me.dossier["applicant"]["region_code"]))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages).replace("\n", "")
    assert me.dossier["applicant"]["name"] in text and me.dossier["platform"]["name"] in text
    assert "形式审查结果" in text and "C9" in text and "符合" in text and "本单位郑重承诺" in text
    sha = (await me.get("/materials", (Role.APPLICANT, me.code))).json()["versions"][0]["sha256"]
    assert sha in text.replace(" ", "")


async def publish(stack: Stack, *events: Event | dict[str, Any]) -> None:
    """Send events as their producer's outbox would; an envelope given twice is one event delivered twice."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        for event in events:
            kwargs = event if isinstance(event, dict) else envelope(event)
            await producer.send_and_wait(kwargs["topic"], kwargs["message"], key=kwargs["key"],
                                         headers=[(k, v.encode()) for k, v in kwargs["headers"].items()])
    finally:
        await producer.stop()


async def test_who_may_download_for_every_role(
    api: Api, stack: Stack, fresh_dossier: Callable[..., dict[str, Any]]
) -> None:
    me = await Applicant(api, stack, fresh_dossier()).draft(await api.open_round())  # 洪山区, 武汉市
    material = (await me.upload(sample_pdf("equipment_list", me.dossier))).json()["id"]
    now, tag = datetime.now(UTC), me.id[-8:]
    assigned, declined, replacement, unassigned = (f"E-{tag}-{i}" for i in range(4))
    await publish(stack, PanelDrawn(application_id=me.id, round_id="R", panel_id=f"P-{tag}",
                                    experts=[assigned, declined], seed="s", candidates=4, excluded=0, drawn_at=now),
                  AssignmentDeclined(application_id=me.id, round_id="R", panel_id=f"P-{tag}", expert_id=declined,
                                     reason="本人与申报单位存在利益关系", replacement=replacement, declined_at=now))

    async def replaced() -> bool:
        return bool((await me.get("/materials", (Role.EXPERT, replacement))).status_code == 200)

    await eventually(replaced, "intake learned the panel and the decline", 60)
    expected = {
        "applicant": ((Role.APPLICANT, me.code), 200),
        "another applicant": ((Role.APPLICANT, unique_credit_code("420111")), 404),
        "county in scope": ((Role.COUNTY_OFFICIAL, "420111"), 200),
        "county out of scope": ((Role.COUNTY_OFFICIAL, "420115"), 404),
        "city in scope": ((Role.CITY_OFFICIAL, "420100"), 200),
        "city out of scope": ((Role.CITY_OFFICIAL, "420200"), 404),
        "province": ((Role.PROVINCE_OFFICIAL, "42"), 200),
        "assigned expert": ((Role.EXPERT, assigned), 200),
        "replacement expert": ((Role.EXPERT, replacement), 200),
        "declined expert": ((Role.EXPERT, declined), 404),
        "unassigned expert": ((Role.EXPERT, unassigned), 404),
        "operator": ((Role.OPERATOR, "*"), 404),
        "public (anonymous)": (None, 401),
    }
    wrong = []
    for caller, (who, status) in expected.items():
        for path in (f"/materials/{material}", "/materials", "/form.pdf"):
            got = (await me.get(path, who)).status_code
            if got != status:
                wrong.append(f"{caller} GET {path}: {got}, expected {status}")
    assert not wrong, "\n".join(wrong)
    with MongoClient[dict[str, Any]](stack.database_uri("intake")) as client:
        roles = {a["actor_role"] for a in client["zhongshi_intake"].audit.find(
            {"action": "material.download", "target_id": material})}
    assert roles == {"applicant", "county_official", "city_official", "province_official", "expert"}


async def test_deleting_a_draft_deletes_its_materials(applicant: Applicant) -> None:
    for kind in ("equipment_list", "site_proof"):
        assert (await applicant.upload(sample_pdf(kind, applicant.dossier), kind=kind)).status_code == 201
    assert applicant.stored()[::2] == (2, 2)
    r = await applicant.api.call("DELETE", "intake", f"/api/v1/applications/{applicant.id}", Role.APPLICANT,
                                 applicant.code)
    assert r.status_code == 200 and len(r.json()["materials"]) == 2
    assert applicant.stored() == (0, 0, 0)
    assert (await applicant.get("", (Role.APPLICANT, applicant.code))).status_code == 404


async def test_a_submitted_application_cannot_be_deleted(
    api: Api, stack: Stack, fresh_dossier: Callable[..., dict[str, Any]]
) -> None:
    d = fresh_dossier()
    app = await api.submit(await api.open_round(), d)
    r = await api.call("DELETE", "intake", f"/api/v1/applications/{app['id']}", Role.APPLICANT,
                       d["applicant"]["credit_code"])
    assert r.status_code == 409


async def test_the_purge_command_removes_unsuccessful_materials_after_retention(
        api: Api, stack: Stack, fresh_dossier: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    closed_long_ago = await api.open_round(opens_on="2020-01-01", closes_on="2020-01-31")
    me = await Applicant(api, stack, fresh_dossier()).draft(closed_long_ago)  # never submitted: unsuccessful
    assert (await me.upload(sample_pdf("equipment_list", me.dossier))).status_code == 201
    fresh = await api.open_round()
    kept = await Applicant(api, stack, fresh_dossier()).draft(fresh)
    assert (await kept.upload(sample_pdf("site_proof", kept.dossier), kind="site_proof")).status_code == 201
    monkeypatch.setenv("MONGODB_URI", stack.database_uri("intake"))

    async def purge(*args: str) -> Result:  # the command runs its own event loop: in a thread
        return await asyncio.to_thread(CliRunner().invoke, cli, ["materials", "purge", *args])

    not_due = await purge("--round", fresh)
    assert not_due.exit_code == 1 and "期满后方可清理" in not_due.output
    dry = await purge("--round", closed_long_ago, "--dry-run")
    assert dry.exit_code == 0 and me.id in dry.output and me.stored()[0] == 1
    done = await purge("--round", closed_long_ago)
    assert done.exit_code == 0, done.output
    assert f"{me.id} (draft): 1 files" in done.output and "removed the materials of 1 applications" in done.output
    assert me.stored() == (0, 0, 0) and kept.stored()[0] == 1
    assert (await api.application(me.id))["materials"] == []


async def test_a_decline_arriving_before_its_panel_still_withholds_access(applicant: Applicant) -> None:
    material = (await applicant.upload(sample_pdf("equipment_list", applicant.dossier))).json()["id"]
    now, tag = datetime.now(UTC), applicant.id[-8:]
    lead, declining = f"E-{tag}-lead", f"E-{tag}-out"
    drawn = PanelDrawn(application_id=applicant.id, round_id="R", panel_id=f"P-{tag}", experts=[lead, declining],
                       seed="s", candidates=2, excluded=0, drawn_at=now)
    declined = AssignmentDeclined(application_id=applicant.id, round_id="R", panel_id=f"P-{tag}",
                                  expert_id=declining, reason="回避", replacement=None, declined_at=now)
    once = envelope(drawn)
    await publish(applicant.stack, declined, once, once)  # other topics, other order; the panel delivered twice

    async def lead_reads() -> bool:
        return bool((await applicant.get(f"/materials/{material}", (Role.EXPERT, lead))).status_code == 200)

    async def declined_withheld() -> bool:
        return bool((await applicant.get(f"/materials/{material}", (Role.EXPERT, declining))).status_code == 404)

    # The two topics are consumed in either order: whichever comes first, the decline must win in the end (a decline
    # dropped for arriving before its panel would leave the declined expert reading for good).
    await eventually(lead_reads, "the panel's lead may read", 60)
    await eventually(declined_withheld, "the declined expert refused", 60)
    panel_steps = [t for t in (await applicant.api.application(applicant.id))["timeline"]
                   if t["event_type"] == "pilot.review.panel-drawn"]
    assert len(panel_steps) == 1  # the redelivered panel was recorded once


class FailingUnitOfWork:
    """A transaction that fails after the file went to GridFS (a write conflict that outlived its retries)."""

    async def run(self, work: Any, *, consumed: Any = None, audit: Any = None) -> bool:
        raise RuntimeError("transaction aborted")


async def test_a_failed_transaction_leaves_no_chunks_behind(
    mongo_db: Any, make_dossier: Callable[..., Dossier]
) -> None:
    now = datetime.now(UTC)
    round_ = domain.Round(id="R1", title="t", opens_on="2020-01-01", closes_on="2099-12-31", rule_set_version="v1")
    repo, store = MongoIntakeRepository(mongo_db), MaterialStore(mongo_db)
    app = domain.draft(make_dossier(), round_, now=now)
    await repo.add(app)
    ctx = materials.Materials(repo=repo, store=store, uow=cast(UnitOfWork, FailingUnitOfWork()), clock=lambda: now,
                              settings=IntakeSettings())
    content = b"%PDF-1.7\n" + b"x" * (300 * 1024)  # two chunks
    uploader = Principal("u", Role.APPLICANT, app.applicant_credit_code)
    audit = Audit(Actor.of(uploader), "material.upload", "application", app.id)
    with pytest.raises(RuntimeError):
        await materials.upload(ctx, app, uploader, materials.Upload("equipment_list", "设备清单", "a.pdf", content),
                               audit)
    assert await mongo_db["material_files.files"].count_documents({}) == 0
    assert await mongo_db["material_files.chunks"].count_documents({}) == 0
    assert await mongo_db.materials.count_documents({}) == 0
    assert (await repo.get(app.id)).materials == []


async def test_a_stored_file_reads_back_through_gridfs_and_storing_it_reads_no_collection(
    mongo_db: Any, scratch_uri: str
) -> None:
    db, commands = watched(scratch_uri, mongo_db.name)
    try:
        store = MaterialStore(db)
        await store.ensure_indexes()
        content = b"%PDF-1.7\n" + bytes(range(256)) * 2400  # three chunks
        record = new_record("A1", content, kind="equipment_list", title="设备清单", filename="a.pdf",
                            media_type="application/pdf", uploaded_by=Uploader(subject="u", role="applicant",
                                                                              organisation="o"),
                            uploaded_at=datetime.now(UTC))
        commands.sent.clear()
        await store.put_file(record, content)
        # GridFS's own writer read one document of each collection per upload: a scan on the embedded database
        assert [c.target for c in commands.sent if c.name == "find"] == []
        assert await store.read_file(record.id) == content
        assert await mongo_db["material_files.chunks"].count_documents({"files_id": record.id}) == 3
        assert await store.orphan_files(datetime.now(UTC) + timedelta(seconds=1)) == [record.id]
        await store.delete_file(record.id)
        assert await mongo_db["material_files.chunks"].count_documents({}) == 0
    finally:
        await db.client.close()
