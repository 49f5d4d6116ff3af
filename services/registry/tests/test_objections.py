"""Objection floods: only identified objectors (logged in, or a contact notify verified), per-client,
per-round and per-objector limits answering 429 with Retry-After, bounded fields, a paged public list and
the province's bulk resolution."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.review import Decision
from zhongshi_registry import api_objections, api_publicity
from zhongshi_registry.certificates import Signer
from zhongshi_registry.entries import Thresholds
from zhongshi_registry.repository import RegistryRepository
from zhongshi_registry.settings import RegistrySettings
from zhongshi_registry.use_cases import Deps
from zhongshi_runtime import contact_proof
from zhongshi_runtime.auth import Role
from zhongshi_runtime.testing import InMemoryUnitOfWork, api_app

from .registry_fixtures import Client, Clock, decision_of, profile_of

OPEN = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # inside the window of a publicity opened on Friday 27 November
OBJECTION = {"application_id": "A1", "name": "王五", "contact": "139 0000 1111",
             "grounds": "该平台申报的服务收入与实际不符，请核实。"}
PATH = "/api/v1/publicity/R1/objections"


@pytest.fixture
async def client(tmp_path: Path, make_dossier: Callable[..., Dossier]) -> AsyncIterator[Client]:
    contact_proof.load_private_key(tmp_path / "proof.pem", create=True)  # notify's key, as in development
    repo, uow, clock = RegistryRepository.memory(), InMemoryUnitOfWork(), Clock(datetime(2026, 11, 27, 2, tzinfo=UTC))
    settings = RegistrySettings(objections_per_client_hour=8, objections_per_round_hour=6,
                                objections_pending_per_objector=2,
                                contact_proof_public_key_file=str(tmp_path / "proof.pub"))
    app = api_app(tmp_path, api_publicity.router, api_objections.router)
    app.state.deps = Deps.build(repo, uow, clock, settings, unsigned, Thresholds())
    for i in range(3):
        dossier = make_dossier(i)
        await repo.record_decision(decision_of(dossier, f"A{i}", Decision.ACCREDIT, i + 1))
        await repo.keep_profile(profile_of(dossier, f"A{i}"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        c = Client(tmp_path, http, repo, uow, clock)
        assert (await c.province("POST", "/api/v1/rounds/R1/publicity", json={})).status_code == 200
        clock.now = OPEN
        yield c


def unsigned() -> Signer:
    raise AssertionError("objections sign no certificate")


def proof(keys: Path, contact: str, key_file: str = "proof.pem", ttl: timedelta = timedelta(minutes=30)) -> str:
    key = contact_proof.load_private_key(keys / key_file, create=True)
    return contact_proof.issue(key, contact_proof.contact_digest(contact), "V-1", datetime.now(UTC), ttl)


async def as_person(client: Client, subject: str, body: dict[str, Any] = OBJECTION) -> httpx.Response:
    return await client.as_(Role.APPLICANT, subject, "POST", PATH, json=body)


async def test_an_anonymous_objection_is_refused_and_changes_nothing(client: Client) -> None:
    r = await client.http.post(PATH, json=OBJECTION)
    assert r.status_code == 401 and "验证码" in r.json()["detail"]
    forged = await client.http.post(PATH, json=OBJECTION, headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401
    assert await client.repo.objections.find() == [] and client.published("pilot.publicity.objection-filed") == []


async def test_a_contact_verified_by_notify_may_object_and_only_for_that_contact(client: Client) -> None:
    good = proof(client.keys, "13900001111")  # typed with spaces in the body: the same number
    r = await client.http.post(PATH, json=OBJECTION, headers={contact_proof.HEADER: good})
    assert r.status_code == 201, r.text
    [stored] = await client.repo.objections.find()
    assert stored.objector == f"contact:{contact_proof.contact_digest('13900001111')}"
    filed = client.uow.audit[-1]
    assert (filed.actor_subject, filed.actor_role) == ("verified:V-1", "verified_contact")
    assert "1390000" not in filed.model_dump_json() and "王五" not in filed.model_dump_json()
    other = await client.http.post(PATH, json={**OBJECTION, "contact": "13900002222"},
                                   headers={contact_proof.HEADER: good})
    assert other.status_code == 422 and other.json()["detail"][0]["loc"] == ["body", "contact"]
    forged = proof(client.keys, "13900001111", key_file="attacker.pem")
    assert (await client.http.post(PATH, json=OBJECTION, headers={contact_proof.HEADER: forged})).status_code == 401
    stale = proof(client.keys, "13900001111", ttl=timedelta(minutes=-5))
    assert (await client.http.post(PATH, json=OBJECTION, headers={contact_proof.HEADER: stale})).status_code == 401
    assert len(await client.repo.objections.find()) == 1


async def test_every_field_has_a_maximum_length(client: Client) -> None:
    for field, value in [("grounds", "很" * 4001), ("name", "张" * 51), ("contact", "1" * 101),
                         ("evidence", ["照" * 501]), ("evidence", ["照片"] * 21), ("application_id", "A" * 65)]:
        r = await as_person(client, "p1", {**OBJECTION, field: value})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][1] == field, (field, r.text)
    assert await client.repo.objections.find() == []


async def test_one_objector_may_hold_only_a_few_pending_objections_in_a_round(client: Client) -> None:
    assert [(await as_person(client, "p1")).status_code for _ in range(2)] == [201, 201]
    r = await as_person(client, "p1")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0 and "频繁" in r.json()["detail"]
    assert (await as_person(client, "p2")).status_code == 201  # another person is not held up
    first = (await client.repo.objections.find(objector="person:applicant:p1"))[0]
    await client.province("POST", f"/api/v1/objections/{first.id}/resolve", json={"upheld": False, "reason": "不成立"})
    assert (await as_person(client, "p1")).status_code == 201  # resolved: room again


async def test_the_round_and_each_client_are_rate_limited_with_retry_after(client: Client) -> None:
    codes = [(await as_person(client, f"p{n}")).status_code for n in range(8)]
    assert codes == [201] * 6 + [429] * 2  # the round takes 6 an hour
    r = await client.http.post(PATH, json=OBJECTION)  # the ninth attempt from this client, even anonymous
    assert r.status_code == 429 and r.headers["Retry-After"] == "3600"
    assert len(await client.repo.objections.find()) == 6


async def test_the_public_list_is_paged_and_the_province_resolves_in_bulk(client: Client) -> None:
    ids: list[str] = []
    for n in range(5):
        client.clock.now = OPEN + timedelta(minutes=5 - n)  # filed in reverse id order: the list is by time
        ids.insert(0, (await as_person(client, f"p{n}")).json()["id"])
    page = (await client.http.get("/api/v1/public/publicity/R1", params={"offset": 1, "limit": 2})).json()
    assert page["objections_total"] == 5 and [o["id"] for o in page["objections"]] == ids[1:3]
    assert (await client.http.get("/api/v1/public/publicity/R1", params={"limit": 501})).status_code == 422
    await client.province("POST", f"/api/v1/objections/{ids[0]}/resolve", json={"upheld": False, "reason": "不成立"})
    bulk = {"objection_ids": ids, "upheld": False, "reason": "经核查，均为重复提交的无依据异议"}
    r = await client.province("POST", "/api/v1/rounds/R1/objections/resolve", json=bulk)
    assert r.status_code == 409 and ids[0] in r.json()["detail"]  # all or none: one was resolved already
    assert {o.status for o in await client.repo.objections.find() if o.id != ids[0]} == {"pending"}
    r = await client.province("POST", "/api/v1/rounds/R1/objections/resolve", json={**bulk, "objection_ids": ids[1:]})
    assert r.json() == {"resolved": 4, "objection_ids": ids[1:]}
    assert {o.status for o in await client.repo.objections.find()} == {"dismissed"}
    assert len(client.published("pilot.publicity.objection-resolved")) == 5
    bulk_record = client.uow.audit[-1]
    assert (bulk_record.action, bulk_record.target_id, sorted(bulk_record.application_ids)) == (
        "objection.resolve_bulk", "R1", ["A1"])
    r = await client.province("POST", "/api/v1/rounds/R1/objections/resolve", json={**bulk, "objection_ids": []})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "objection_ids"]
