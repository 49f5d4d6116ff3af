"""Lost updates on the real database: an edit that raced a submit is refused, never written over it, and two
uploads at once cannot together exceed an application's allowance."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from zhongshi_intake import api, api_materials
from zhongshi_intake.domain import Application
from zhongshi_intake.material_store import MaterialStore
from zhongshi_intake.materials import Materials
from zhongshi_intake.metrics import IntakeMetrics
from zhongshi_intake.repository import MongoIntakeRepository
from zhongshi_intake.service import Deps
from zhongshi_intake.settings import IntakeSettings
from zhongshi_intake.sniff import Refused
from zhongshi_runtime.audit import ensure_audit_indexes
from zhongshi_runtime.auth import Role
from zhongshi_runtime.outbox import Session, ensure_outbox_indexes
from zhongshi_runtime.testing import Gate, api_app, mint_test_token, mongo_unit_of_work, race, watched

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
ROUND = {"id": "R2026-01", "title": "2026年度第一批", "opens_on": "2026-11-01", "closes_on": "2026-12-31",
         "rule_set_version": "hubei-2025-v1"}


class GatedRepository(MongoIntakeRepository):
    """Pauses a read of an application once the gate is armed: one made outside a transaction (the PATCH's), or
    with ``in_transaction`` one made inside (an upload's)."""

    def __init__(self, db: Any, in_transaction: bool = False) -> None:
        super().__init__(db)
        self.gate, self.in_transaction = Gate(), in_transaction

    async def get(self, application_id: str, session: Session = None) -> Application | None:
        found = await super().get(application_id, session)
        if (session is not None) == self.in_transaction:
            await self.gate.pause()
        return found


@pytest.fixture
async def intake(mongo_db: Any, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, GatedRepository]]:
    repo = GatedRepository(mongo_db)
    await repo.learn_rule_set(ROUND["rule_set_version"])
    app = api_app(tmp_path, api.router)
    app.state.deps = Deps(repo, mongo_unit_of_work(mongo_db, "intake"), lambda: NOW, IntakeMetrics(CollectorRegistry()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        token = mint_test_token(tmp_path, role=Role.PROVINCE_OFFICIAL, organisation="42")
        province = {"Authorization": f"Bearer {token}"}
        assert (await http.post("/api/v1/rounds", json=ROUND, headers=province)).status_code == 201
        yield http, repo


async def _draft(http: httpx.AsyncClient, keys: Path, dossier: dict[str, Any]) -> tuple[str, dict[str, str]]:
    token = mint_test_token(keys, role=Role.APPLICANT, organisation=dossier["applicant"]["credit_code"])
    me = {"Authorization": f"Bearer {token}"}
    created = await http.post("/api/v1/applications", json={"round_id": "R2026-01", "dossier": dossier}, headers=me)
    assert created.status_code == 201, created.text
    return created.json()["id"], me


async def test_an_edit_racing_a_submit_cannot_revert_it_to_draft(
    intake: tuple[httpx.AsyncClient, GatedRepository], dossier_json: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    http, repo = intake
    app_id, me = await _draft(http, tmp_path, dossier_json())
    repo.gate.armed = True
    edit = asyncio.create_task(http.patch(f"/api/v1/applications/{app_id}",
                                          json={"platform": {"name": "改名后的中试平台"}}, headers=me))
    await repo.gate.reached.wait()  # the edit has read the draft ...
    submitted = await http.post(f"/api/v1/applications/{app_id}/submit", headers=me)
    assert submitted.status_code == 200, submitted.text  # ... the submit commits its event ...
    repo.gate.released.set()
    edited = await edit  # ... and the edit, computed from the draft, must not be written over it
    assert edited.status_code == 409, edited.text
    stored = await repo.get(app_id)  # the gate is spent
    assert stored is not None and stored.status == "submitted" and stored.revision == 1
    assert stored.dossier.platform.name != "改名后的中试平台"


async def test_a_stale_if_match_is_refused_with_412_and_a_fresh_one_succeeds(
    intake: tuple[httpx.AsyncClient, GatedRepository], dossier_json: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    http, _ = intake
    app_id, me = await _draft(http, tmp_path, dossier_json())
    read = await http.get(f"/api/v1/applications/{app_id}", headers=me)
    tag = read.headers["ETag"]
    first = await http.patch(f"/api/v1/applications/{app_id}", json={"platform": {"name": "第一次修改"}},
                             headers={**me, "If-Match": tag})
    assert first.status_code == 200 and first.headers["ETag"] != tag
    second = await http.patch(f"/api/v1/applications/{app_id}", json={"platform": {"name": "第二次修改"}},
                              headers={**me, "If-Match": tag})  # written from the same, now stale, read
    assert second.status_code == 412 and "重新读取" in second.json()["detail"]
    stale_submit = await http.post(f"/api/v1/applications/{app_id}/submit", headers={**me, "If-Match": tag})
    assert stale_submit.status_code == 412
    fresh = await http.post(f"/api/v1/applications/{app_id}/submit", headers={**me, "If-Match": first.headers["ETag"]})
    assert fresh.status_code == 200 and fresh.json()["dossier"]["platform"]["name"] == "第一次修改"


@contextlib.asynccontextmanager
async def materials_api(db: Any, keys: Path, settings: IntakeSettings
                        ) -> AsyncIterator[tuple[httpx.AsyncClient, GatedRepository, MaterialStore]]:
    """Intake's application and materials routes on ``db``, with the round open; the repository's gate is on the
    read inside an upload's transaction."""
    repo, store = GatedRepository(db, in_transaction=True), MaterialStore(db)
    for ensure in (repo.ensure_indexes(), store.ensure_indexes(), ensure_outbox_indexes(db), ensure_audit_indexes(db)):
        await ensure
    await repo.learn_rule_set(ROUND["rule_set_version"])
    uow = mongo_unit_of_work(db, "intake")
    materials = Materials(repo=repo, store=store, uow=uow, clock=lambda: NOW, settings=settings)
    app = api_app(keys, api.router, api_materials.limited(settings.material_max_bytes), api_materials.router)
    app.state.deps = Deps(repo, uow, lambda: NOW, IntakeMetrics(CollectorRegistry()), materials)
    app.add_exception_handler(Refused, api_materials.file_refused)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        token = mint_test_token(keys, role=Role.PROVINCE_OFFICIAL, organisation="42")
        province = {"Authorization": f"Bearer {token}"}
        assert (await http.post("/api/v1/rounds", json=ROUND, headers=province)).status_code == 201
        yield http, repo, store


async def _upload(http: httpx.AsyncClient, app_id: str, me: dict[str, str], kind: str, size: int,
                  replaces: str | None = None) -> httpx.Response:
    files = {"file": (f"{kind}.pdf", b"%PDF-" + b"0" * (size - 5), "application/pdf")}
    data = {"kind": kind, "title": kind} | ({"replaces": replaces} if replaces else {})
    return await http.post(f"/api/v1/applications/{app_id}/materials", headers=me, files=files, data=data)


ALLOWANCE = IntakeSettings(material_max_bytes=8_000, application_materials_max_bytes=12_000)


async def test_two_uploads_at_once_cannot_together_exceed_the_applications_allowance(
    mongo_db: Any, scratch_uri: str, tmp_path: Path, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    """Each fits the allowance alone, not both: the second to commit is refused, whichever it is."""
    db, commands = watched(scratch_uri, mongo_db.name)
    async with materials_api(db, tmp_path, ALLOWANCE) as (http, repo, store):
        app_id, me = await _draft(http, tmp_path, dossier_json())
        answers: list[httpx.Response] = []

        async def uploaded(kind: str) -> None:
            answers.append(await _upload(http, app_id, me, kind, 7_000))

        await race(uploaded("equipment_list"), uploaded("site_proof"), repo.gate, commands)
    assert sorted(a.status_code for a in answers) == [201, 422], [a.text for a in answers]
    stored = await store.of_application(app_id)
    assert len(stored) == 1 and sum(r.size for r in stored) <= ALLOWANCE.application_materials_max_bytes
    assert await db["material_files.files"].count_documents({}) == 1  # the refused one's file is gone too


async def test_an_application_saved_before_it_kept_its_stored_total_is_counted_from_its_records(
    mongo_db: Any, tmp_path: Path, dossier_json: Callable[..., dict[str, Any]]
) -> None:
    """The replaced version still counts toward the allowance, and a replacement is the next version."""
    async with materials_api(mongo_db, tmp_path, ALLOWANCE) as (http, repo, _):
        app_id, me = await _draft(http, tmp_path, dossier_json())
        first = await _upload(http, app_id, me, "equipment_list", 7_000)
        assert first.status_code == 201, first.text
        await mongo_db.applications.update_one({"_id": app_id}, {"$unset": {"stored": ""}})  # as saved before
        too_big = await _upload(http, app_id, me, "equipment_list", 6_000, replaces=first.json()["id"])
        assert too_big.status_code == 422 and "将达13000字节" in too_big.json()["detail"][0]["msg"], too_big.text
        second = await _upload(http, app_id, me, "equipment_list", 4_000, replaces=first.json()["id"])
    assert second.status_code == 201 and second.json()["version"] == 2, second.text
    stored = (await repo.get(app_id)).stored
    assert stored is not None and stored.total == 11_000 and stored.versions[second.json()["id"]] == 2
