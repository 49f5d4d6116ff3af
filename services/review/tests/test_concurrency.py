"""Lost updates on the real database: a decline or a reconciliation that raced another decline cannot put
back an expert who declared a conflict, and a withdrawal handled while its forwarding is keeps the application
out of review."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
from zhongshi_contracts.events import ApplicationWithdrawn
from zhongshi_contracts.recommendation import Actor, ApplicationForwarded
from zhongshi_review import api_draws, api_review, handlers
from zhongshi_review.records import CandidateNote, Override, Panel
from zhongshi_review.repository import ReviewRepository, ensure_indexes
from zhongshi_review.service import Deps
from zhongshi_runtime.audit import ensure_audit_indexes
from zhongshi_runtime.auth import Role
from zhongshi_runtime.outbox import Session, ensure_outbox_indexes
from zhongshi_runtime.rebuild import replay_consumers
from zhongshi_runtime.store import MongoStore
from zhongshi_runtime.testing import (
    Commands,
    Gate,
    api_app,
    meta_of,
    mint_test_token,
    mongo_unit_of_work,
    race,
    watched,
)
from zhongshi_runtime.turns import ensure_turns

from .review_fixtures import NOW, candidate_of, expert
from .test_api import sheet

pytestmark = pytest.mark.integration


class GatedPanels(MongoStore[Panel]):
    """Pauses the first read of a panel once the gate is armed."""

    gate = Gate()

    async def get(self, key: str, session: Session = None) -> Panel | None:
        found = await super().get(key, session)
        await self.gate.pause()
        return found


class GatedOverrides(MongoStore[Override]):
    """Pauses the first read of several overrides (the decision list's) once the gate is armed."""

    gate = Gate()

    async def many(self, keys: Iterable[str]) -> dict[str, Override]:
        found = await super().many(keys)
        await self.gate.pause()
        return found


class Review:
    def __init__(self, keys: Path, http: httpx.AsyncClient, repo: ReviewRepository, gate: Gate,
                 commands: Commands) -> None:
        self.keys, self.http, self.repo, self.gate, self.commands = keys, http, repo, gate, commands

    def call(self, role: Role, who: str, path: str, **kw: Any) -> Any:
        token = mint_test_token(self.keys, role=role, organisation=who)
        return self.http.post(path, headers={"Authorization": f"Bearer {token}", **kw.pop("headers", {})}, **kw)

    async def panel(self) -> list[str]:
        return list((await self.repo.panels.get("A1") or pytest.fail("no panel")).experts)


@pytest.fixture
async def review(mongo_db: Any, scratch_uri: str, tmp_path: Path, make_dossier: Any) -> AsyncIterator[Review]:
    db, commands = watched(scratch_uri, mongo_db.name)
    await ensure_turns(db)  # as the service does at start
    repo = ReviewRepository.mongo(db)
    panels = GatedPanels(db, "panels", Panel)
    panels.gate = Gate()
    repo.panels = panels
    repo.overrides = GatedOverrides(db, "overrides", Override)
    for n in range(10):
        await repo.experts.put(f"E{n:03d}", expert(n, ["laser"]))
    await repo.candidates.put("A1", candidate_of(make_dossier(), "A1"))
    uow = mongo_unit_of_work(db, "review")
    app = api_app(tmp_path, api_review.router, api_draws.router)
    app.state.deps = Deps(repo, uow, lambda: NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        r = Review(tmp_path, http, repo, panels.gate, commands)
        committed = await r.call(Role.PROVINCE_OFFICIAL, "42", "/api/v1/rounds/R1/draw-commitment")
        assert committed.status_code == 201, committed.text
        drawn = await r.call(Role.PROVINCE_OFFICIAL, "42", "/api/v1/rounds/R1/panels",
                             json={"application_ids": ["A1"]})
        assert drawn.status_code == 200 and len(drawn.json()[0]["experts"]) == 5, drawn.text
        yield r


async def _race(review: Review, first: Any, second: Any) -> tuple[httpx.Response, httpx.Response]:
    """``first`` reads the panel and waits while ``second`` runs to its end; then ``first`` goes on."""
    review.gate.armed = True
    held = asyncio.create_task(first)
    await review.gate.reached.wait()
    done = await second
    review.gate.released.set()
    return await held, done


async def test_two_concurrent_declines_each_leave_the_panel(review: Review) -> None:
    x, y = (await review.panel())[1:3]
    reason = {"json": {"reason": "曾与申报单位合作研发项目"}}
    held, done = await _race(review, review.call(Role.EXPERT, x, "/api/v1/assignments/A1/decline", **reason),
                             review.call(Role.EXPERT, y, "/api/v1/assignments/A1/decline", **reason))
    assert done.status_code == 200 and held.status_code == 200, (done.text, held.text)
    experts = await review.panel()
    assert x not in experts and y not in experts, experts  # neither write put the other back
    assert len(experts) == len(set(experts)) == 5
    stored = await review.repo.panels.get("A1")
    assert stored is not None and {d.expert_id for d in stored.declined} == {x, y}


async def test_a_reconciliation_racing_a_decline_cannot_put_the_expert_back(review: Review) -> None:
    experts = await review.panel()
    lead, leaving = experts[0], experts[3]
    held, done = await _race(
        review, review.call(Role.EXPERT, lead, "/api/v1/assignments/A1/reconcile", json={"note": "分歧已协调"}),
        review.call(Role.EXPERT, leaving, "/api/v1/assignments/A1/decline", json={"reason": "近三年曾任该单位顾问"}))
    assert done.status_code == 200, done.text
    assert held.status_code == 409, held.text  # computed from the panel before the decline: refused
    assert leaving not in await review.panel()


async def test_a_reconciliation_with_a_stale_if_match_is_refused_with_412(review: Review) -> None:
    experts = await review.panel()
    token = mint_test_token(review.keys, role=Role.EXPERT, organisation=experts[0])
    read = await review.http.get("/api/v1/assignments/A1", headers={"Authorization": f"Bearer {token}"})
    stale = read.headers["ETag"]  # the lead's read; the decline below makes it stale
    assert (await review.call(Role.EXPERT, experts[4], "/api/v1/assignments/A1/decline",
                              json={"reason": "近三年曾任该单位顾问"})).status_code == 200
    refused = await review.call(Role.EXPERT, experts[0], "/api/v1/assignments/A1/reconcile",
                                json={"note": "分歧已协调"}, headers={"If-Match": stale})
    assert refused.status_code == 412, refused.text
    for member, value in zip(await review.panel(), [9, 9, 5, 3, 3], strict=False):  # now a divergence to coordinate
        scored = await review.call(Role.EXPERT, member, "/api/v1/assignments/A1/score", json=sheet(value))
        assert scored.status_code == 200, scored.text
    again = await review.http.get("/api/v1/assignments/A1", headers={"Authorization": f"Bearer {token}"})
    fresh = await review.call(Role.EXPERT, experts[0], "/api/v1/assignments/A1/reconcile",
                              json={"note": "分歧已协调"}, headers={"If-Match": again.headers["ETag"]})
    assert fresh.status_code == 200 and fresh.json()["reconciliation"] == "分歧已协调"
    assert fresh.headers["ETag"] not in (stale, again.headers["ETag"])


async def test_an_override_made_while_the_round_is_confirmed_is_in_the_decision_or_refused(review: Review) -> None:
    """The confirmation reads the overrides; one committed after that read, before the confirmation, would be
    stored and answered 200 and yet reach no decision, in a round now closed to changes."""
    for member in await review.panel():
        scored = await review.call(Role.EXPERT, member, "/api/v1/assignments/A1/score", json=sheet(8))
        assert scored.status_code == 200, scored.text
    responses: list[httpx.Response] = []

    async def answered(request: Awaitable[httpx.Response]) -> None:
        responses.append(await request)

    overrides = review.repo.overrides
    assert isinstance(overrides, GatedOverrides)
    await race(answered(review.call(Role.PROVINCE_OFFICIAL, "42", "/api/v1/rounds/R1/confirm")),
               answered(review.call(Role.PROVINCE_OFFICIAL, "42", "/api/v1/rounds/R1/overrides/A1",
                                    json={"decision": "decline", "justification": "现场核查发现设备不符"})),
               overrides.gate, review.commands)
    by_path = {r.request.url.path.rsplit("/", 1)[-1]: r for r in responses}
    assert by_path["confirm"].status_code == 200, by_path["confirm"].text
    assert by_path["A1"].status_code == 409, by_path["A1"].text  # waited for the confirmation, then refused
    assert await review.repo.overrides.get("A1") is None


class GatedNotes(MongoStore[CandidateNote]):
    """Pauses the first read of a note once the gate is armed."""

    gate = Gate()

    async def get(self, key: str, session: Session = None) -> CandidateNote | None:
        found = await super().get(key, session)
        await self.gate.pause()
        return found


async def test_a_withdrawal_handled_while_its_forwarding_is_stays_out_of_review(
    mongo_db: Any, scratch_uri: str, make_dossier: Any
) -> None:
    """The two come on different topics, so they may be handled at once: the withdrawal must not find no
    candidate and commit while the forwarding, which read no note, makes a candidate ready for a panel."""
    db, commands = watched(scratch_uri, mongo_db.name)
    for ensure in (ensure_indexes(db), ensure_outbox_indexes(db), ensure_audit_indexes(db), ensure_turns(db)):
        await ensure
    repo = ReviewRepository.mongo(db)
    repo.notes = notes = GatedNotes(db, "candidate_notes", CandidateNote)
    notes.gate = Gate()
    consumers = replay_consumers("review")  # handlers called directly, as the live consumer calls them
    handlers.register(consumers, mongo_unit_of_work(db, "review"), repo)
    forwarding = ApplicationForwarded(
        application_id="A1", round_id="R1", revision=1, actor=Actor(id="u", role="city_official", region_code="420100"),
        opinion="同意", acted_at=NOW, region_code="420111", city_code="420100", applicant_credit_code="c",
        applicant_name="a", platform_name="p", level="city", priority=1, quota=3, opinions=[], flagged=[],
        rule_set_version="v1", clauses=[], dossier=make_dossier())
    withdrawal = ApplicationWithdrawn(application_id="A1", round_id="R1", revision=1, withdrawn_at=NOW, reason="",
                                      applicant_credit_code="c", region_code="420111", city_code="420100")
    # another application's first: the embedded database's first array in the audit's index conflicts once
    await consumers.deliver(withdrawal.model_copy(update={"application_id": "A0"}), meta_of(withdrawal))
    # the forwarding has read (no note) when the withdrawal is handled
    await race(consumers.deliver(forwarding, meta_of(forwarding)), consumers.deliver(withdrawal, meta_of(withdrawal)),
               notes.gate, commands)
    candidate = await repo.candidate("A1")
    assert candidate is not None and candidate.withdrawn and not candidate.ready

