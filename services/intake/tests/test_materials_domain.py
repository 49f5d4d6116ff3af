"""Materials in intake's pure parts: required kinds at submission, versions, freezing, limits, the form PDF."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.materials import MaterialReference
from zhongshi_intake import domain
from zhongshi_intake.domain import MaterialsMissing, Round, TransitionRefused
from zhongshi_intake.form_pdf import form_pdf
from zhongshi_intake.material_store import MaterialRecord, Uploader
from zhongshi_intake.materials import Materials, Upload, check_upload
from zhongshi_intake.repository import InMemoryIntakeRepository
from zhongshi_intake.settings import IntakeSettings
from zhongshi_intake.sniff import Refused
from zhongshi_runtime.testing import InMemoryUnitOfWork

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
ROUND = Round(id="R1", title="2026年度第一批", opens_on="2026-11-01", closes_on="2026-12-31",
              rule_set_version="v1", required_materials=["application_form", "equipment_list"])


def ref(kind: str, i: int = 0) -> MaterialReference:
    return MaterialReference(id=f"M-{kind}-{i}", kind=kind, title=kind, sha256=f"{i:064x}", size=10 + i)


def attach(app: domain.Application, material: MaterialReference, replaces: str | None = None) -> domain.Application:
    assert app.stored is not None
    return domain.attach(app, material, stored=app.stored, replaces=replaces, now=NOW)


def test_a_round_names_only_known_kinds() -> None:
    with pytest.raises(ValueError, match="未知的材料类别"):
        Round(id="R2", title="t", opens_on="2026-11-01", closes_on="2026-12-31", rule_set_version="v1",
              required_materials=["selfie"])


def test_submission_lists_every_missing_required_kind_then_carries_references(
    make_dossier: Callable[..., Dossier]
) -> None:
    app = attach(domain.draft(make_dossier(), ROUND, now=NOW), ref("application_form"))
    with pytest.raises(MaterialsMissing) as missing:
        domain.submit(app, ROUND, now=NOW, event_id="e1")
    assert missing.value.kinds == ["equipment_list"] and "设备清单" in str(missing.value)
    app = attach(app, ref("equipment_list"))
    submitted, event = domain.submit(app, ROUND, now=NOW, event_id="e1")
    assert [m.kind for m in event.materials] == ["application_form", "equipment_list"]
    with pytest.raises(TransitionRefused, match="冻结"):
        attach(submitted, ref("site_proof"))


def test_a_replacement_takes_the_place_of_its_predecessor(make_dossier: Callable[..., Dossier]) -> None:
    app = attach(domain.draft(make_dossier(), ROUND, now=NOW), ref("equipment_list"))
    app = attach(app, ref("equipment_list", 1), replaces="M-equipment_list-0")
    app = attach(app, ref("equipment_list", 2), replaces="M-equipment_list-1")
    assert [m.id for m in app.materials] == ["M-equipment_list-2"]
    assert app.stored is not None and app.stored.total == 10 + 11 + 12  # every version counts toward the allowance
    assert app.stored.versions["M-equipment_list-2"] == 3 and app.stored.next_version(None) == 1
    with pytest.raises(ValueError, match="无法替换"):
        attach(app, ref("equipment_list", 3), replaces="M-nothing")


def test_only_a_never_submitted_draft_is_deletable(make_dossier: Callable[..., Dossier]) -> None:
    app = domain.draft(make_dossier(), ROUND, now=NOW)
    domain.deletable(app)
    returned = app.model_copy(update={"status": domain.Status.RETURNED, "revision": 1})
    with pytest.raises(TransitionRefused):
        domain.deletable(returned)


def test_the_application_total_is_limited_counting_every_version() -> None:
    settings = IntakeSettings(material_max_bytes=4096, application_materials_max_bytes=10_000)
    ctx = Materials(repo=InMemoryIntakeRepository(), store=None, uow=InMemoryUnitOfWork(),  # type: ignore[arg-type]
                    clock=lambda: NOW, settings=settings)
    upload = Upload(kind="equipment_list", title="t", filename="a.pdf", content=b"%PDF-" + b"0" * 3000)
    assert check_upload(ctx, upload, used=6_000) == "application/pdf"
    with pytest.raises(Refused) as refused:
        check_upload(ctx, upload, used=7_000)
    assert refused.value.status == 422 and "每份申报上限10000字节" in refused.value.detail
    with pytest.raises(Refused, match="超过单个文件上限4096字节"):
        check_upload(ctx, Upload("equipment_list", "t", "a.pdf", b"%PDF-" + b"0" * 5000), used=0)


def test_the_form_of_a_draft_says_it_is_not_screened_and_lists_checksums(make_dossier: Callable[..., Dossier]) -> None:
    app = domain.draft(make_dossier(), ROUND, now=NOW)
    record = MaterialRecord(id="M-1", application_id=app.id, kind="equipment_list", title="设备清单",
                            filename="设备清单.pdf", media_type="application/pdf", sha256="ab" * 32, size=2048,
                            uploaded_by=Uploader(subject="u", role="applicant", organisation="x"), uploaded_at=NOW)
    app = attach(app, record.reference())
    text = PdfReader(io.BytesIO(form_pdf(app, ROUND, [record]))).pages
    joined = "".join(p.extract_text() for p in text).replace("\n", "").replace(" ", "")
    assert app.dossier.applicant.name in joined and "尚未进行形式审查" in joined
    assert "ab" * 32 in joined and "设备清单" in joined and "本单位郑重承诺" in joined
    contact = app.dossier.applicant.contact
    assert contact.phone in joined and contact.email in joined
    for_expert = PdfReader(io.BytesIO(form_pdf(app, ROUND, [record], with_contact=False))).pages
    shown = "".join(p.extract_text() for p in for_expert).replace("\n", "").replace(" ", "")
    assert contact.phone not in shown and contact.email not in shown and contact.name not in shown
    assert "评审专家不予显示" in shown and app.dossier.applicant.name in shown
