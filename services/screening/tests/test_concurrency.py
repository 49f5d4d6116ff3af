"""Concurrency on the real database: the city's ordering that raced its own forward cannot undo it, a
county's actions at once neither conflict with each other nor escape the stage gauges' tally, a withdrawal
handled while its submission is screened is not lost, and a quota lowered during a forward never ends below the
slots taken."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from zhongshi_contracts.events import ApplicationSubmitted, ApplicationWithdrawn
from zhongshi_runtime.audit import ensure_audit_indexes
from zhongshi_runtime.auth import Role
from zhongshi_runtime.outbox import Session, ensure_outbox_indexes
from zhongshi_runtime.rebuild import replay_consumers
from zhongshi_runtime.testing import (
    Gate,
    api_app,
    meta_of,
    mint_test_token,
    mongo_unit_of_work,
    race,
    watched,
)
from zhongshi_runtime.turns import ensure_turns
from zhongshi_screening import chain_api, handlers
from zhongshi_screening.chain import Case, RoundSettings, Stage
from zhongshi_screening.metrics import ChainMetrics, ScreeningMetrics
from zhongshi_screening.repository import CaseFilter, MongoScreeningRepository
from zhongshi_screening.rules import DEFAULT_RULE_SET
from zhongshi_screening.service import Deps

from .chain_fixtures import NOW, case_of

pytestmark = pytest.mark.integration
OPINION = {"opinion": "经审核，同意推荐"}


class GatedRepository(MongoScreeningRepository):
    """Pauses the first read of a case once the gate is armed."""

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self.gate = Gate()

    async def case(self, application_id: str, session: Session = None) -> Case | None:
        found = await super().case(application_id, session)
        await self.gate.pause()
        return found


@pytest.fixture
async def city(mongo_db: Any, tmp_path: Path, make_dossier: Any
               ) -> AsyncIterator[tuple[httpx.AsyncClient, GatedRepository, dict[str, str]]]:
    repo = GatedRepository(mongo_db)
    app = api_app(tmp_path, chain_api.router)
    uow = mongo_unit_of_work(mongo_db, "screening")
    app.state.deps = Deps(repo, uow, lambda: NOW, ChainMetrics(CollectorRegistry()))
    await repo.save_case(case_of(make_dossier(), "A1", Stage.CITY_REVIEW))
    await repo.save_settings(RoundSettings(round_id="R1", quotas={"420100": 2}))  # room for a wrongful second
    token = mint_test_token(tmp_path, role=Role.CITY_OFFICIAL, organisation="420100")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as http:
        yield http, repo, {"Authorization": f"Bearer {token}"}


async def test_ordering_racing_a_forward_cannot_undo_it_nor_free_a_second_quota_slot(
    city: tuple[httpx.AsyncClient, GatedRepository, dict[str, str]]
) -> None:
    http, repo, me = city
    repo.gate.armed = True
    ordering = asyncio.create_task(http.put("/api/v1/rounds/R1/priorities", json={"application_ids": ["A1"]},
                                            headers=me))
    await repo.gate.reached.wait()  # the ordering has read the case in city review ...
    forwarded = await http.post("/api/v1/applications/A1/forward", json=OPINION, headers=me)
    assert forwarded.status_code == 200, forwarded.text  # ... the forward commits ...
    repo.gate.released.set()
    ordered = await ordering  # ... and the ordering must not write the case back into city review
    assert ordered.status_code == 409, ordered.text
    again = await http.post("/api/v1/applications/A1/forward", json=OPINION, headers=me)
    assert again.status_code == 409, again.text
    stored = await repo.case("A1")
    assert stored is not None and stored.stage is Stage.EXPERT_REVIEW
    assert await repo.quota_used("R1") == {"420100": 1}


async def test_an_ordering_racing_a_forward_of_another_application_gives_no_priority_twice(
    city: tuple[httpx.AsyncClient, GatedRepository, dict[str, str]], make_dossier: Any
) -> None:
    http, repo, me = city
    await repo.save_case(case_of(make_dossier(), "A2", Stage.CITY_REVIEW))
    repo.gate.armed = True
    ordering = asyncio.create_task(http.put("/api/v1/rounds/R1/priorities", json={"application_ids": ["A1"]},
                                            headers=me))
    await repo.gate.reached.wait()  # the ordering has begun ...
    forwarded = await http.post("/api/v1/applications/A2/forward", json=OPINION, headers=me)
    assert forwarded.status_code == 200, forwarded.text  # ... A2, unranked, is forwarded with the first priority
    repo.gate.released.set()
    ordered = await ordering  # ... and the ordering, from a snapshot before it, must not give A1 the same
    a1, a2 = await repo.case("A1"), await repo.case("A2")
    assert a1 is not None and a2 is not None and a2.priority == 1
    assert (ordered.status_code, a1.priority) in ((200, 2), (409, None)), ordered.text


class Reading(MongoScreeningRepository):
    """Counts the reads of each case: an action's transaction reads its case once per attempt."""

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self.reads = Counter[str]()

    async def case(self, application_id: str, session: Session = None) -> Case | None:
        self.reads[application_id] += 1
        return await super().case(application_id, session)


async def test_a_countys_recommendations_at_once_are_never_retried_and_the_tally_counts_each(
    mongo_db: Any, scratch_uri: str, tmp_path: Path, make_dossier: Any
) -> None:
    mongo_db, commands = watched(scratch_uri, mongo_db.name)
    repo, dossier, ids = Reading(mongo_db), make_dossier(), [f"A{i}" for i in range(20)]
    await repo.ensure_indexes()  # and the kit's, as a service starts
    await ensure_outbox_indexes(mongo_db)
    await ensure_audit_indexes(mongo_db)
    for app_id in ids:
        await repo.save_case(case_of(dossier, app_id, Stage.COUNTY_REVIEW))
    app = api_app(tmp_path, chain_api.router)
    uow = mongo_unit_of_work(mongo_db, "screening")
    app.state.deps = Deps(repo, uow, lambda: NOW, ChainMetrics(CollectorRegistry()))
    token = mint_test_token(tmp_path, role=Role.COUNTY_OFFICIAL, organisation=dossier.applicant.region_code)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        # one first, alone: the embedded database's very first array in the audit's index makes concurrent
        # inserts conflict once, which no running service meets again
        commands.sent.clear()
        first = await http.post(f"/api/v1/applications/{ids[0]}/recommend", json=OPINION)
        recommended = [http.post(f"/api/v1/applications/{a}/recommend", json=OPINION) for a in ids[1:]]
        counting = [asyncio.create_task(repo.stage_counts()) for _ in range(2)]  # the gauges refresh meanwhile
        responses = await asyncio.gather(*recommended)
        await asyncio.gather(*counting)
        by_id = Counter(c.name for c in commands.sent if c.target == "cases" and any("_id" in f for f in c.filters))
    assert [r.status_code for r in (first, *responses)] == [200] * len(ids), [r.text for r in responses]
    assert repo.reads == dict.fromkeys(ids, 1)  # no write conflict made any action's transaction run again
    # each action read its case once and replaced it by id: no second read for the tally it leaves, and no
    # find-and-modify, which the embedded database answers by reading every case
    assert by_id == {"find": len(ids), "update": len(ids)}
    _, cases = await repo.cases(CaseFilter())
    assert {c.stage for c in cases} == {Stage.CITY_REVIEW}
    assert await repo.stage_counts() == Counter((c.round_id, c.stage, c.city_code) for c in cases)
    assert await mongo_db.stage_moves.count_documents({}) == 0  # every move folded into the tally


async def test_a_withdrawal_read_while_its_submission_is_screened_still_closes_the_case(
    mongo_db: Any, scratch_uri: str, make_dossier: Any
) -> None:
    """The two events come on different topics, so they may be handled at once: the withdrawal must not find
    no case, commit, and leave the case the submission then creates in the county's queue."""
    db, commands = watched(scratch_uri, mongo_db.name)
    repo = GatedRepository(db)
    for ensure in (repo.ensure_indexes(), ensure_outbox_indexes(db), ensure_audit_indexes(db), ensure_turns(db)):
        await ensure
    await repo.add_rule_set(DEFAULT_RULE_SET)
    consumers = replay_consumers("screening")  # handlers called directly, as the live consumer calls them
    handlers.register(consumers, mongo_unit_of_work(db, "screening"), repo,
                      ScreeningMetrics(consumers.metrics.registry), lambda: NOW)
    dossier = make_dossier()
    submission = ApplicationSubmitted(application_id="A1", round_id="R1", revision=1, rule_set_version="hubei-2025-v1",
                                      submitted_at=NOW, city_code="420100", dossier=dossier)
    withdrawal = ApplicationWithdrawn(application_id="A1", round_id="R1", revision=1, withdrawn_at=NOW, reason="",
                                      applicant_credit_code=dossier.applicant.credit_code,
                                      region_code=dossier.applicant.region_code, city_code="420100")
    # another application's first: the embedded database's first array in the audit's index conflicts once
    await consumers.deliver(withdrawal.model_copy(update={"application_id": "A0"}), meta_of(withdrawal))
    # the submission has read (no withdrawal, no case) when the withdrawal is handled
    await race(consumers.deliver(submission, meta_of(submission)), consumers.deliver(withdrawal, meta_of(withdrawal)),
               repo.gate, commands)
    case = await repo.case("A1")
    assert case is not None and case.stage is Stage.WITHDRAWN



class GatedSettings(MongoScreeningRepository):
    """Pauses the first read of a round's settings once the gate is armed."""

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self.gate = Gate()

    async def settings(self, round_id: str, session: Session = None) -> RoundSettings | None:
        found = await super().settings(round_id, session)
        await self.gate.pause()
        return found


async def test_quotas_and_deadlines_changed_at_once_are_both_kept(
    mongo_db: Any, scratch_uri: str, tmp_path: Path
) -> None:
    """Two officials save the two parts of a round's settings at the same moment: neither save undoes the other."""
    db, commands = watched(scratch_uri, mongo_db.name)
    repo = GatedSettings(db)
    for ensure in (repo.ensure_indexes(), ensure_outbox_indexes(db), ensure_audit_indexes(db)):
        await ensure
    app = api_app(tmp_path, chain_api.router)
    app.state.deps = Deps(repo, mongo_unit_of_work(db, "screening"), lambda: NOW, ChainMetrics(CollectorRegistry()))
    token = mint_test_token(tmp_path, role=Role.PROVINCE_OFFICIAL, organisation="42")
    answers: list[httpx.Response] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        async def saved(body: dict[str, Any]) -> None:
            answers.append(await http.patch("/api/v1/rounds/R1/settings", json=body))

        await race(saved({"quotas": {"420100": 3}}), saved({"deadlines": {"city_review": "2026-12-20"}}),
                   repo.gate, commands)
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    stored = await repo.settings("R1")
    assert stored is not None and stored.quotas == {"420100": 3}
    assert stored.deadlines == {Stage.CITY_REVIEW: date(2026, 12, 20)}


async def test_a_quota_lowered_at_the_moment_of_a_forward_never_ends_below_the_slots_taken(
    mongo_db: Any, scratch_uri: str, tmp_path: Path, make_dossier: Any
) -> None:
    """Wuhan has forwarded one of two; the province lowers the quota to one while the city forwards a second.
    Whichever commits first, the other is refused: never two forwarded against a quota of one."""
    db, commands = watched(scratch_uri, mongo_db.name)
    repo = GatedSettings(db)
    for ensure in (repo.ensure_indexes(), ensure_outbox_indexes(db), ensure_audit_indexes(db)):
        await ensure
    await repo.save_settings(RoundSettings(round_id="R1", quotas={"420100": 2}))
    await repo.save_case(case_of(make_dossier(), "A1", Stage.CITY_REVIEW))
    assert await repo.claim_quota("R1", "420100", 2) == 1  # an earlier forward
    app = api_app(tmp_path, chain_api.router)
    app.state.deps = Deps(repo, mongo_unit_of_work(db, "screening"), lambda: NOW, ChainMetrics(CollectorRegistry()))
    as_city, as_province = ({"Authorization": f"Bearer {mint_test_token(tmp_path, role=role, organisation=scope)}"}
                            for role, scope in ((Role.CITY_OFFICIAL, "420100"), (Role.PROVINCE_OFFICIAL, "42")))
    answers: dict[str, httpx.Response] = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        async def forward() -> None:  # reads the quota (two), then pauses
            answers["forward"] = await http.post("/api/v1/applications/A1/forward", json=OPINION, headers=as_city)

        async def lower() -> None:
            answers["lower"] = await http.patch("/api/v1/rounds/R1/settings", json={"quotas": {"420100": 1}},
                                                headers=as_province)

        await race(forward(), lower(), repo.gate, commands)
        assert sorted(a.status_code for a in answers.values()) == [200, 409], {k: a.text for k, a in answers.items()}
        settings, used = await repo.settings("R1"), (await repo.quota_used("R1"))["420100"]
        assert settings is not None and used <= settings.quotas["420100"], (used, settings.quotas)
        below = await http.patch("/api/v1/rounds/R1/settings", json={"quotas": {"420100": used - 1}},
                                 headers=as_province)
        assert below.status_code == 409 and f"武汉市本批次已推荐{used}个" in below.json()["detail"]
