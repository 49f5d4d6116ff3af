"""Review's HTTP API over in-memory fakes: pool import, draws, assignments, scoring, decisions."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from zhongshi_contracts.dossier import Dossier
from zhongshi_review import api, api_draws, api_review, draw_service
from zhongshi_review.repository import ReviewRepository
from zhongshi_review.rubric import DEFAULT_RUBRIC
from zhongshi_review.service import Deps
from zhongshi_runtime.auth import Role
from zhongshi_runtime.outbox import Work
from zhongshi_runtime.testing import InMemoryUnitOfWork, api_app, mint_test_token

from .review_fixtures import NOW, candidate_of, expert


class Client:
    def __init__(self, keys: Path, http: httpx.AsyncClient, deps: Deps, uow: InMemoryUnitOfWork) -> None:
        self.keys, self.http, self.deps, self.repo, self.uow = keys, http, deps, deps.repo, uow

    async def as_(self, role: Role, scope: str, method: str, path: str, **kw: Any) -> httpx.Response:
        token = mint_test_token(self.keys, role=role, organisation=scope)
        return await self.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)

    async def province(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.as_(Role.PROVINCE_OFFICIAL, "42", method, path, **kw)

    def published(self, topic: str) -> list:  # type: ignore[type-arg]
        return [e for e in self.uow.published if e.topic.name == topic]


@pytest.fixture
async def client(tmp_path: Path, make_dossier: Callable[..., Dossier]) -> AsyncIterator[Client]:
    repo, uow = ReviewRepository.memory(), InMemoryUnitOfWork()
    app = api_app(tmp_path, api.router, api_draws.router, api_review.router)
    app.state.deps = deps = Deps(repo, uow, lambda: NOW)
    for n in range(8):
        await repo.experts.put(f"E{n:03d}", expert(n, ["laser"]))
    for i, app_id in enumerate(("A1", "A2")):
        await repo.candidates.put(app_id, candidate_of(make_dossier(), app_id, priority=i + 1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield Client(tmp_path, http, deps, uow)


def sheet(value: int) -> dict:  # type: ignore[type-arg]
    comments = {c.key: "理由充分" for c in DEFAULT_RUBRIC.criteria} if value <= 3 or value >= 9 else {}
    return {"scores": {c.key: value for c in DEFAULT_RUBRIC.criteria}, "comments": comments}


async def commit(client: Client) -> dict:  # type: ignore[type-arg]
    """The round's draw commitment, published once before the first draw."""
    r = await client.province("GET", "/api/v1/rounds/R1/draw-commitment")
    if r.status_code == 404:
        r = await client.province("POST", "/api/v1/rounds/R1/draw-commitment")
        assert r.status_code == 201, r.text
    return dict(r.json())


async def draw(client: Client, **body: Any) -> list[dict[str, Any]]:
    await commit(client)
    r = await client.province("POST", "/api/v1/rounds/R1/panels", json=body)
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_a_draw_is_recorded_with_its_seed_and_announced(client: Client) -> None:
    [first, second] = await draw(client)
    assert len(first["seed"]) == 32 and len(first["experts"]) == 5
    assert [e.experts for e in client.published("pilot.review.panel-drawn")] == [first["experts"], second["experts"]]
    assert await draw(client) == []  # drawn already: nothing redrawn


async def test_panels_are_stored_a_batch_per_transaction_and_each_announced_once(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    transactions: list[Work] = []
    run = client.uow.run

    async def counted(work: Work, **kw: Any) -> Any:
        transactions.append(work)
        return await run(work, **kw)

    await commit(client)
    monkeypatch.setattr(client.uow, "run", counted)
    monkeypatch.setattr(draw_service, "DRAW_BATCH", 1)
    assert [d["application_id"] for d in await draw(client, application_ids=["A1", "A2"])] == ["A1", "A2"]
    assert len(transactions) == 2  # a batch of one each
    assert [e.application_id for e in client.published("pilot.review.panel-drawn")] == ["A1", "A2"]
    first = await client.repo.candidates.get("A1")
    for app_id in ("B1", "B2", "B3"):
        await client.repo.candidates.put(app_id, first.model_copy(update={"id": app_id}))
    monkeypatch.setattr(draw_service, "DRAW_BATCH", 100)
    assert [d["application_id"] for d in await draw(client)] == ["B1", "B2", "B3"]
    assert len(transactions) == 3  # three candidates left, one transaction


async def test_the_scoring_deadline_is_the_draw_day_plus_the_rounds_scoring_days(client: Client) -> None:
    settings = {"round_id": "R1", "scoring_days": 7}
    assert (await client.province("PUT", "/api/v1/rounds/R1/review-settings", json=settings)).status_code == 200
    [first] = await draw(client, application_ids=["A1"])
    assert first["score_by"] == "2026-12-04"  # drawn 2026-11-27 (Asia/Shanghai) + 7 days
    [event] = client.published("pilot.review.panel-drawn")
    assert event.score_by == date(2026, 12, 4)
    mine = (await client.as_(Role.EXPERT, first["experts"][0], "GET", "/api/v1/assignments")).json()
    assert [a["score_by"] for a in mine] == ["2026-12-04"]


async def test_without_round_settings_experts_get_the_default_ten_days(client: Client) -> None:
    [first, _] = await draw(client)
    assert first["score_by"] == "2026-12-07"
    r = await client.province("PUT", "/api/v1/rounds/R1/review-settings", json={"round_id": "R1", "scoring_days": 0})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "scoring_days"]


async def test_experts_see_only_their_assignments_and_no_other_scores_before_closing(client: Client) -> None:
    [panel, _] = await draw(client)
    members = panel["experts"]
    outsider = next(f"E{n:03d}" for n in range(8) if f"E{n:03d}" not in members)
    r = await client.as_(Role.EXPERT, outsider, "GET", "/api/v1/assignments/A1")
    if outsider not in (await client.province("GET", "/api/v1/panels/A2")).json()["panel"]["experts"]:
        assert (await client.as_(Role.EXPERT, outsider, "GET", "/api/v1/assignments")).json() == []
    assert r.status_code == 404
    assert (await client.as_(Role.EXPERT, outsider, "POST", "/api/v1/assignments/A1/score",
                             json=sheet(7))).status_code == 404
    await client.as_(Role.EXPERT, members[0], "POST", "/api/v1/assignments/A1/score", json=sheet(7))
    view = (await client.as_(Role.EXPERT, members[1], "GET", "/api/v1/assignments/A1")).json()
    assert view["panel_sheets"] is None and view["my_sheet"] is None and view["scoring_closed"] is False
    assert view["dossier"]["platform"]["name"]
    for member in members[1:]:
        await client.as_(Role.EXPERT, member, "POST", "/api/v1/assignments/A1/score", json=sheet(8))
    closed = (await client.as_(Role.EXPERT, members[1], "GET", "/api/v1/assignments/A1")).json()
    assert closed["scoring_closed"] and len(closed["panel_sheets"]) == 5
    assert (await client.as_(Role.APPLICANT, "x", "GET", "/api/v1/assignments/A1")).status_code == 403


async def test_scoring_twice_is_a_409_and_a_bad_sheet_a_422_naming_the_criterion(client: Client) -> None:
    [panel, _] = await draw(client)
    me = panel["experts"][0]
    bad = {"scores": {**sheet(7)["scores"], "talent_team": 2}}
    r = await client.as_(Role.EXPERT, me, "POST", "/api/v1/assignments/A1/score", json=bad)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "scores", "talent_team"]
    assert (await client.as_(Role.EXPERT, me, "POST", "/api/v1/assignments/A1/score", json=sheet(7))).status_code == 200
    again = await client.as_(Role.EXPERT, me, "POST", "/api/v1/assignments/A1/score", json=sheet(6))
    assert again.status_code == 409 and len(client.published("pilot.review.scored")) == 1


async def test_a_decline_draws_a_replacement_who_was_not_on_the_panel(client: Client) -> None:
    [panel] = await draw(client, application_ids=["A1"])
    leaving = panel["experts"][2]
    r = await client.as_(Role.EXPERT, leaving, "POST", "/api/v1/assignments/A1/decline",
                         json={"reason": "曾与申报单位合作研发项目"})
    assert r.json()["replacement_drawn"] is True
    [declined] = client.published("pilot.review.assignment-declined")
    now = (await client.province("GET", "/api/v1/panels/A1")).json()["panel"]
    assert leaving not in now["experts"] and declined.replacement in now["experts"]
    assert declined.replacement not in panel["experts"] and len(now["experts"]) == 5
    assert (await client.as_(Role.EXPERT, leaving, "GET", "/api/v1/assignments/A1")).status_code == 404


async def score_all(client: Client, app_id: str, values: list[int]) -> list[str]:
    panel = (await client.province("GET", f"/api/v1/panels/{app_id}")).json()["panel"]
    for member, value in zip(panel["experts"], values, strict=True):
        r = await client.as_(Role.EXPERT, member, "POST", f"/api/v1/assignments/{app_id}/score", json=sheet(value))
        assert r.status_code == 200, r.text
    return list(panel["experts"])


async def proposal_items(client: Client) -> dict[str, dict]:  # type: ignore[type-arg]
    items = (await client.province("GET", "/api/v1/rounds/R1/proposal")).json()["items"]
    return {i["application_id"]: i for i in items}


async def test_the_round_is_proposed_reconciled_overridden_and_confirmed_once(client: Client) -> None:
    await client.province("PUT", "/api/v1/rounds/R1/review-settings",
                          json={"round_id": "R1", "quota": 1, "accreditation_line": "80", "cultivation_line": "70"})
    await draw(client)
    experts_a1 = await score_all(client, "A1", [9, 9, 9, 9, 9])
    await score_all(client, "A2", [9, 9, 5, 5, 3])  # totals 90, 90, 50, 50, 30: diverging; trimmed 63.33
    proposal = (await client.province("GET", "/api/v1/rounds/R1/proposal")).json()
    missing = "专家评分分歧超过阈值，待评审组组长出具协调意见"
    assert proposal["incomplete"] == [{"application_id": "A2", "missing": missing}]
    assert (await client.province("POST", "/api/v1/rounds/R1/confirm")).status_code == 409
    lead = (await client.province("GET", "/api/v1/panels/A2")).json()["panel"]["experts"][0]
    not_lead = experts_a1[0] if experts_a1[0] != lead else experts_a1[1]
    assert (await client.as_(Role.EXPERT, not_lead, "POST", "/api/v1/assignments/A2/reconcile",
                             json={"note": "x" * 5})).status_code in (403, 404)
    assert (await client.as_(Role.EXPERT, lead, "POST", "/api/v1/assignments/A2/reconcile",
                             json={"note": "经组内讨论，维持各自评分"})).status_code == 200
    items = await proposal_items(client)
    assert items["A1"]["decision"] == "accredit" and items["A1"]["rank"] == 1 and items["A2"]["decision"] == "decline"
    await client.province("POST", "/api/v1/rounds/R1/overrides/A2",
                          json={"decision": "cultivate", "justification": "地方产业急需，列为培育对象"})
    assert (await client.province("POST", "/api/v1/rounds/R1/confirm")).json()["confirmed"] == 2
    decided = {e.application_id: e for e in client.published("pilot.review.decided")}
    assert decided["A2"].decision == "cultivate" and decided["A2"].overridden
    assert decided["A1"].score == 90 and decided["A1"].rubric_version == DEFAULT_RUBRIC.version
    lines = {(e.accreditation_line, e.cultivation_line, e.quota) for e in decided.values()}
    assert lines == {(80, 70, 1)}  # each decision records the lines and the quota it was proposed against
    assert {e.decided_in_round for e in decided.values()} == {2}  # and how many the confirmation decided
    assert [m.expert_id for m in decided["A1"].panel] == experts_a1
    assert (await client.province("POST", "/api/v1/rounds/R1/confirm")).status_code == 409
    assert len(client.published("pilot.review.decided")) == 2
    trail = client.uow.audit  # one record per change, none for the refusals (409, 403/404) above
    assert [r.action for r in trail][:2] == ["round.review_settings", "draw.commit"]
    trail = trail[1:]  # the commitment's record is checked in test_draws.py
    assert [r.action for r in trail] == ["draw.commit", "panel.draw", *["assignment.score"] * 10,
                                         "panel.reconcile", "decision.override", "decision.confirm"]
    seed = (await client.province("GET", "/api/v1/rounds/R1/draw-commitment")).json()["seed"]
    assert sorted(trail[1].application_ids) == ["A1", "A2"] and seed in trail[1].reason
    panel_a2 = (await client.province("GET", "/api/v1/panels/A2")).json()["panel"]["experts"]
    assert [(r.actor_subject, r.target_id) for r in trail[2:12]] == [
        *[(f"expert:{e}", "A1") for e in experts_a1], *[(f"expert:{e}", "A2") for e in panel_a2]]
    assert (trail[12].actor_subject, trail[12].reason) == (f"expert:{lead}", "经组内讨论，维持各自评分")
    override, confirm = trail[-2:]
    assert (override.actor_subject, override.target_id, override.reason, override.outcome) == (
        "province_official:42", "A2", "地方产业急需，列为培育对象", "cultivate")
    assert (confirm.target_kind, confirm.target_id, sorted(confirm.application_ids)) == ("round", "R1", ["A1", "A2"])


async def test_a_failed_inspection_declines(client: Client) -> None:
    await draw(client)
    await score_all(client, "A1", [9, 9, 9, 9, 9])
    await score_all(client, "A2", [8, 8, 8, 8, 8])
    await client.province("POST", "/api/v1/applications/A1/inspection",
                          json={"passed": False, "notes": "中试线未投运"})
    inspection = client.uow.audit[-1]
    assert (inspection.action, inspection.target_id, inspection.reason, inspection.outcome, inspection.actor_role) == (
        "inspection.record", "A1", "中试线未投运", "未通过", "province_official")
    items = await proposal_items(client)
    assert items["A1"]["decision"] == "decline" and items["A1"]["rank"] is None and items["A2"]["rank"] == 1


async def test_csv_import_reports_every_bad_row_and_imports_nothing(client: Client) -> None:
    header = "id,name,organisation,organisation_credit_code,title,fields,region_code,email,phone,active,relations\n"
    good = 'X1,李明,武汉大学,,教授,laser;new_materials,420111,li@example.cn,,true,\n'
    bad = 'X2,王芳,华中科技大学,,教授,steam,420111,,,true,\nX3,,某院,,研究员,laser,4201,,,true,"[{""x"":1}]"\n'
    r = await client.province("POST", "/api/v1/experts/import", params={"filename": "pool.csv"},
                              content=(header + good + bad).encode())
    assert r.status_code == 422
    cells = [e["loc"] for e in r.json()["detail"]]
    assert {row for _, row, _ in cells} == {3, 4}
    assert next(field for _, row, field in cells if row == 3).startswith("fields")
    assert {field for _, row, field in cells if row == 4} >= {"name", "region_code"}
    assert await client.repo.experts.get("X1") is None
    ok = await client.province("POST", "/api/v1/experts/import", params={"filename": "pool.csv"},
                               content=(header + good).encode())
    assert ok.json() == {"imported": 1, "ids": ["X1"]}


async def test_xlsx_import(client: Client) -> None:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet_ = book.active
    sheet_.append(["id", "name", "organisation", "title", "fields", "region_code", "relations"])
    sheet_.append(["X9", "赵强", "湖北工业大学", "教授", "laser", "420106",
                   '[{"organisation": "某公司", "kind": "shareholding", "start": "2022-01-01"}]'])
    buffer = io.BytesIO()
    book.save(buffer)
    r = await client.province("POST", "/api/v1/experts/import", params={"filename": "pool.xlsx"},
                              content=buffer.getvalue())
    assert r.status_code == 200, r.text
    assert (await client.repo.experts.get("X9")).relations[0].kind == "shareholding"


async def test_pool_changes_are_audited_and_a_refused_import_is_not(client: Client) -> None:
    body = expert(20, ["laser"]).model_dump(mode="json")
    assert (await client.province("PUT", "/api/v1/experts/E020", json=body)).status_code == 200
    assert (await client.province("PUT", "/api/v1/experts/E020", json={**body, "active": False})).status_code == 200
    assert (await client.province("PUT", "/api/v1/experts/E021", json=body)).status_code == 422  # id mismatch
    bad = await client.province("POST", "/api/v1/experts/import", params={"filename": "pool.csv"}, content=b"id\nx")
    assert bad.status_code == 422
    assert [(r.action, r.target_id, r.outcome) for r in client.uow.audit] == [
        ("expert.put", "E020", "新增"), ("expert.put", "E020", "停用")]


async def test_the_rubric_cannot_change_once_scoring_started_so_no_aggregate_mixes_versions(client: Client) -> None:
    other = DEFAULT_RUBRIC.model_copy(update={"version": "hubei-review-2026-v2"}).model_dump(mode="json")
    before = {"round_id": "R1", "rubric": other}
    assert (await client.province("PUT", "/api/v1/rounds/R1/review-settings", json=before)).status_code == 200
    [panel] = await draw(client, application_ids=["A1"])
    r = await client.as_(Role.EXPERT, panel["experts"][0], "POST", "/api/v1/assignments/A1/score", json=sheet(7))
    assert r.status_code == 200 and r.json()["rubric_version"] == "hubei-review-2026-v2"
    back = {"round_id": "R1", "rubric": DEFAULT_RUBRIC.model_dump(mode="json")}
    r = await client.province("PUT", "/api/v1/rounds/R1/review-settings", json=back)
    assert r.status_code == 409 and "已开始评分" in r.json()["detail"]
    reweighted = {**other, "criteria": [{**c, "weight": w} for c, w in zip(
        other["criteria"], ["15", "5", *[c["weight"] for c in other["criteria"][2:]]], strict=True)]}
    r = await client.province("PUT", "/api/v1/rounds/R1/review-settings", json={"round_id": "R1", "rubric": reweighted})
    assert r.status_code == 409  # the same version name with other weights is a change too
    assert (await client.province("GET", "/api/v1/rounds/R1/review-settings")).json()["rubric"] == other
    r = await client.province("PUT", "/api/v1/rounds/R1/review-settings", json={**before, "quota": 3})
    assert r.status_code == 200  # the quota and lines may still change: they do not touch the sheets
    assert [a.action for a in client.uow.audit].count("round.review_settings") == 2


async def test_the_lead_coordinates_only_a_divergence_that_exists(client: Client) -> None:
    """A note written after two sheets would stand for totals 45 points apart that came later."""
    [panel, _] = await draw(client)
    lead, note = panel["experts"][0], {"note": "经组内讨论，维持各自评分"}
    for member, value in zip(panel["experts"][:2], [9, 9], strict=True):
        await client.as_(Role.EXPERT, member, "POST", "/api/v1/assignments/A1/score", json=sheet(value))
    early = await client.as_(Role.EXPERT, lead, "POST", "/api/v1/assignments/A1/reconcile", json=note)
    assert early.status_code == 409 and "无需出具协调意见" in early.json()["detail"]
    for member, value in zip(panel["experts"][2:], [5, 5, 3], strict=True):
        await client.as_(Role.EXPERT, member, "POST", "/api/v1/assignments/A1/score", json=sheet(value))
    assert (await client.as_(Role.EXPERT, lead, "POST", "/api/v1/assignments/A1/reconcile", json=note)
            ).status_code == 200


async def test_the_tie_break_criterion_must_be_one_of_the_rubrics(client: Client) -> None:
    """Else every candidate's tie-break mean is 0 and a tie at the quota line falls to the city's priority."""
    other = DEFAULT_RUBRIC.model_copy(update={"version": "v2", "criteria": [
        c.model_copy(update={"key": "outcomes"}) if c.key == "service_outcomes" else c
        for c in DEFAULT_RUBRIC.criteria]}).model_dump(mode="json")
    r = await client.province("PUT", "/api/v1/rounds/R1/review-settings", json={"round_id": "R1", "rubric": other})
    assert r.status_code == 422 and "service_outcomes" in r.text and "同分比较项" in r.text
    fixed = {"round_id": "R1", "rubric": other, "tie_break_criterion": "outcomes"}
    assert (await client.province("PUT", "/api/v1/rounds/R1/review-settings", json=fixed)).status_code == 200


@pytest.mark.parametrize("rule", [{"panel_size": 3}, {"conflict_years": 1}, {"exclude_same_city": True}])
async def test_the_draw_rules_cannot_change_once_committed(client: Client, rule: dict[str, Any]) -> None:
    """Panels are drawn, topped up and judged complete by the committed rules: a smaller size would make a panel
    that lost two experts complete, a larger one would make every panel incomplete for good."""
    await draw(client)
    r = await client.province("PUT", "/api/v1/rounds/R1/review-settings", json={"round_id": "R1", **rule})
    assert r.status_code == 409 and "抽取承诺" in r.json()["detail"]
    r = await client.province("PUT", "/api/v1/rounds/R1/review-settings", json={"round_id": "R1", "quota": 3})
    assert r.status_code == 200


def counted(client: Client, name: str, **labels: str) -> float:
    return client.deps.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_the_metrics_count_panels_declines_sheets_and_confirmed_decisions(client: Client) -> None:
    [panel, _] = await draw(client)
    assert counted(client, "zhongshi_review_panels_drawn_total", kind="draw") == 2
    await client.as_(Role.EXPERT, panel["experts"][4], "POST", "/api/v1/assignments/A1/decline",
                     json={"reason": "曾与申报单位合作研发项目"})
    await score_all(client, "A1", [9, 9, 9, 9, 9])
    await score_all(client, "A2", [8, 8, 8, 8, 8])
    assert (await client.province("POST", "/api/v1/rounds/R1/confirm")).status_code == 200
    assert counted(client, "zhongshi_review_declines_total") == 1
    assert counted(client, "zhongshi_review_sheets_total") == 10
    decided = Counter(e.decision.value for e in client.published("pilot.review.decided"))
    by_decision = {d: counted(client, "zhongshi_review_decisions_total", decision=d) for d in decided}
    assert by_decision == decided and sum(decided.values()) == 2
    assert (await client.province("POST", "/api/v1/rounds/R1/confirm")).status_code == 409
    assert sum(counted(client, "zhongshi_review_decisions_total", decision=d) for d in decided) == 2  # not on a 409


async def test_the_round_is_not_confirmed_while_a_candidate_awaits_the_provinces_exception_decision(
        client: Client, make_dossier: Callable[..., Dossier]) -> None:
    """Approved after the confirmation, it would find the round closed and never be decided."""
    await draw(client)
    await score_all(client, "A1", [9, 9, 9, 9, 9])
    await score_all(client, "A2", [8, 8, 8, 8, 8])
    flagged = candidate_of(make_dossier(), "A3", priority=3).model_copy(update={"awaiting_exception": True})
    await client.deps.repo.candidates.put("A3", flagged)
    refused = await client.province("POST", "/api/v1/rounds/R1/confirm")
    assert refused.status_code == 409 and "尚待省级例外认定" in refused.json()["detail"] and "A3" in refused.text
    await client.deps.repo.candidates.put("A3", flagged.model_copy(update={"declined_by_province": True}))
    assert (await client.province("POST", "/api/v1/rounds/R1/confirm")).json()["confirmed"] == 2


async def test_a_confirmed_round_tells_a_caller_without_the_right_role_nothing(client: Client) -> None:
    await draw(client)
    await score_all(client, "A1", [9, 9, 9, 9, 9])
    await score_all(client, "A2", [8, 8, 8, 8, 8])
    assert (await client.province("POST", "/api/v1/rounds/R1/confirm")).status_code == 200
    expert_call = await client.as_(Role.EXPERT, "E001", "POST", "/api/v1/rounds/R1/draw-commitment")
    anonymous = await client.http.post("/api/v1/rounds/R1/overrides/A1", json={})
    assert (expert_call.status_code, anonymous.status_code) == (403, 401)  # the guard checks the role first
    refused = await client.province("POST", "/api/v1/rounds/R1/overrides/A1",
                                    json={"decision": "cultivate", "justification": "地方产业急需"})
    assert (refused.status_code, refused.json()["detail"]) == (409, "本批次评审结果已确认")


async def test_reading_the_pool_or_an_expert_is_audited_with_whom_it_showed(client: Client) -> None:
    """The pool holds the experts' phones and e-mails: each read says who read whose."""
    for n in (30, 31):
        body = expert(n, ["laser"]).model_dump(mode="json")
        assert (await client.province("PUT", f"/api/v1/experts/E0{n}", json=body)).status_code == 200
    before = len(client.uow.audit)
    listed = (await client.province("GET", "/api/v1/experts", params={"field": "laser", "limit": 1})).json()
    assert (await client.province("GET", "/api/v1/experts/E030")).status_code == 200
    assert (await client.province("GET", "/api/v1/experts/E999")).status_code == 404  # nothing shown, no record
    assert [(r.action, r.target_id, r.outcome, r.actor_role) for r in client.uow.audit[before:]] == [
        ("expert_pool.read", "laser", f"1 人：{listed['items'][0]['id']}", "province_official"),
        ("expert.read", "E030", "ok", "province_official")]
