"""The in-memory fake and the Mongo adapter pass the same contract."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from zhongshi_contracts.dossier import Dossier
from zhongshi_screening.repository import (
    InMemoryScreeningRepository,
    MongoScreeningRepository,
    PriorityMarks,
    RuleSetConflict,
    ScreeningRepository,
)
from zhongshi_screening.rules import DEFAULT_RULE_SET


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
async def repo(request: pytest.FixtureRequest) -> ScreeningRepository:
    if request.param == "memory":
        return InMemoryScreeningRepository()
    mongo = MongoScreeningRepository(request.getfixturevalue("mongo_db"))
    await mongo.ensure_indexes()
    return mongo


async def test_rule_set_versions_are_immutable(repo: ScreeningRepository) -> None:
    assert await repo.add_rule_set(DEFAULT_RULE_SET) is True
    assert await repo.add_rule_set(DEFAULT_RULE_SET) is False  # the identical version again: fine
    with pytest.raises(RuleSetConflict):
        await repo.add_rule_set(DEFAULT_RULE_SET.model_copy(update={"min_professionals": 11}))
    assert await repo.rule_set(DEFAULT_RULE_SET.version) == DEFAULT_RULE_SET
    assert await repo.rule_set("missing") is None
    newer = DEFAULT_RULE_SET.model_copy(update={"version": "hubei-2026-v1"})
    await repo.add_rule_set(newer)
    assert [r.version for r in await repo.rule_sets()] == ["hubei-2025-v1", "hubei-2026-v1"]


async def test_screenings_are_kept_per_revision_oldest_first(repo: ScreeningRepository) -> None:
    for revision in (2, 1):
        await repo.save_screening({"_id": f"A1#{revision}", "application_id": "A1", "revision": revision})
    await repo.save_screening({"_id": "A1#2", "application_id": "A1", "revision": 2, "outcome": "eligible"})
    found = await repo.screenings("A1")
    assert [r["revision"] for r in found] == [1, 2] and found[1]["outcome"] == "eligible"
    assert await repo.screenings("A2") == []




async def test_cases_list_ranked_first_then_by_arrival_and_filter(
    repo: ScreeningRepository, make_dossier: Callable[..., Dossier]
) -> None:
    from datetime import timedelta

    from zhongshi_screening.chain import Stage
    from zhongshi_screening.repository import CaseFilter

    from .chain_fixtures import NOW, case_of

    for i, (app_id, priority) in enumerate([("a", None), ("b", 2), ("c", None), ("d", 1)]):
        case = case_of(make_dossier(), app_id, Stage.CITY_REVIEW)
        await repo.save_case(case.model_copy(update={"priority": priority, "stage_since": NOW + timedelta(seconds=i)}))
    await repo.save_case(case_of(make_dossier(7), "e", Stage.COUNTY_REVIEW))
    total, cases = await repo.cases(CaseFilter(stage=Stage.CITY_REVIEW, city_code="420100"), offset=1, limit=2)
    assert total == 4 and [c.id for c in cases] == ["b", "a"]
    _, county = await repo.cases(CaseFilter(region_code="420281"))
    stored = case_of(make_dossier(7), "e", Stage.COUNTY_REVIEW).model_copy(update={"version": 1})
    assert [c.id for c in county] == ["e"] and county[0] == stored


async def test_a_case_written_from_a_stale_read_is_refused(
    repo: ScreeningRepository, make_dossier: Callable[..., Dossier]
) -> None:
    from zhongshi_runtime.store import StaleWrite
    from zhongshi_screening.chain import Stage

    from .chain_fixtures import case_of

    assert (await repo.save_case(case_of(make_dossier(), "A1", Stage.CITY_REVIEW))).version == 1
    read = await repo.case("A1")
    assert (await repo.save_case(read.model_copy(update={"stage": Stage.EXPERT_REVIEW}))).version == 2
    with pytest.raises(StaleWrite):
        await repo.save_case(read.model_copy(update={"priority": 1}))
    with pytest.raises(StaleWrite):  # nor can a new case replace a stored one
        await repo.save_case(case_of(make_dossier(), "A1", Stage.COUNTY_REVIEW))
    assert (await repo.case("A1")).stage is Stage.EXPERT_REVIEW


async def test_quota_slots_are_claimed_until_used_up_and_released(repo: ScreeningRepository) -> None:
    assert [await repo.claim_quota("R1", "420100", 2) for _ in range(3)] == [1, 2, None]
    await repo.release_quota("R1", "420100")
    assert await repo.claim_quota("R1", "420100", 2) == 2
    assert await repo.quota_used("R1") == {"420100": 2}
    assert await repo.quota_used("R2") == {}


async def test_priority_marks_keep_the_highest_forwarded_and_the_latest_ranking(repo: ScreeningRepository) -> None:
    assert (await repo.priority_marks("R1", "420100")).next == 1
    await repo.mark_ranked("R1", "420100", 4)
    await repo.mark_forwarded("R1", "420100", 3)
    await repo.mark_forwarded("R1", "420100", 2)  # a ranked one forwarded later: the highest stays
    assert await repo.priority_marks("R1", "420100") == PriorityMarks(forwarded=3, ranked=4)
    await repo.mark_ranked("R1", "420100", 2)  # a new ranking replaces the last
    assert await repo.priority_marks("R1", "420100") == PriorityMarks(forwarded=3, ranked=2)
    assert (await repo.priority_marks("R1", "420100")).next == 4
    assert await repo.claim_quota("R1", "420100", 5) == 1  # the marks made the usage: nothing used yet
    assert await repo.priority_marks("R1", "420100") == PriorityMarks(forwarded=3, ranked=2)
    assert await repo.priority_marks("R2", "420100") == PriorityMarks()


async def test_settings_and_withdrawals_round_trip(repo: ScreeningRepository) -> None:
    from datetime import date

    from zhongshi_screening.chain import RoundSettings, Stage

    settings = RoundSettings(round_id="R1", quotas={"420100": 3}, deadlines={Stage.COUNTY_REVIEW: date(2026, 12, 1)})
    await repo.save_settings(settings)
    assert await repo.settings("R1") == settings and await repo.settings("R2") is None
    assert await repo.withdrawal("A1") == 0
    await repo.record_withdrawal("A1", 2)
    assert await repo.withdrawal("A1") == 2


@pytest.mark.integration
async def test_the_mongo_adapter_reads_a_rule_set_version_once(mongo_db: Any) -> None:
    repo = MongoScreeningRepository(mongo_db)
    await repo.add_rule_set(DEFAULT_RULE_SET)
    assert await repo.rule_set(DEFAULT_RULE_SET.version) == DEFAULT_RULE_SET
    await mongo_db.rule_sets.delete_many({})  # a version never changes, so the first read serves every later one
    assert await repo.rule_set(DEFAULT_RULE_SET.version) == DEFAULT_RULE_SET
    assert await repo.rule_set("missing") is None


async def test_stage_counts_tally_cases_by_round_stage_and_city(
    repo: ScreeningRepository, make_dossier: Callable[..., Dossier]
) -> None:
    from zhongshi_screening.chain import Stage

    from .chain_fixtures import case_of

    saved = {}
    for app_id, stage in (("a", Stage.CITY_REVIEW), ("b", Stage.CITY_REVIEW), ("c", Stage.COUNTY_REVIEW)):
        saved[app_id] = await repo.save_case(case_of(make_dossier(), app_id, stage))
    await repo.save_case(case_of(make_dossier(7), "d", Stage.COUNTY_REVIEW, round_id="R2"))
    assert await repo.stage_counts() == {("R1", Stage.CITY_REVIEW, "420100"): 2,
                                         ("R1", Stage.COUNTY_REVIEW, "420100"): 1,
                                         ("R2", Stage.COUNTY_REVIEW, "420200"): 1}
    # moves after the first count: one case on, one case saved without moving, one new
    await repo.save_case(saved["c"].model_copy(update={"stage": Stage.CITY_REVIEW}))
    await repo.save_case(saved["a"].model_copy(update={"priority": 1}))
    await repo.save_case(case_of(make_dossier(), "e", Stage.COUNTY_REVIEW))
    assert await repo.stage_counts() == {("R1", Stage.CITY_REVIEW, "420100"): 3,
                                         ("R1", Stage.COUNTY_REVIEW, "420100"): 1,
                                         ("R2", Stage.COUNTY_REVIEW, "420200"): 1}


async def test_a_round_id_with_regular_expression_characters_is_read_literally(repo: ScreeningRepository) -> None:
    assert await repo.claim_quota(r"R.*", "420100", 2) == 1
    assert await repo.quota_used(r"\1****\2") == {}  # not a pattern: no 500 for a round id the fuzzer made up
    assert await repo.quota_used(r"R.+") == {}  # and no other round's usage either
    assert await repo.quota_used(r"R.*") == {"420100": 1}
