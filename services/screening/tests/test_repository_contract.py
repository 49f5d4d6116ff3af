"""The in-memory fake and the Mongo adapter pass the same contract."""

from __future__ import annotations

import pytest
from zhongshi_screening.repository import InMemoryScreeningRepository, MongoScreeningRepository, RuleSetConflict
from zhongshi_screening.rules import DEFAULT_RULE_SET


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
async def repo(request):  # type: ignore[no-untyped-def]
    if request.param == "memory":
        return InMemoryScreeningRepository()
    mongo = MongoScreeningRepository(request.getfixturevalue("mongo_db"))
    await mongo.ensure_indexes()
    return mongo


async def test_rule_set_versions_are_immutable(repo) -> None:  # type: ignore[no-untyped-def]
    assert await repo.add_rule_set(DEFAULT_RULE_SET) is True
    assert await repo.add_rule_set(DEFAULT_RULE_SET) is False  # the identical version again: fine
    with pytest.raises(RuleSetConflict):
        await repo.add_rule_set(DEFAULT_RULE_SET.model_copy(update={"min_professionals": 11}))
    assert await repo.rule_set(DEFAULT_RULE_SET.version) == DEFAULT_RULE_SET
    assert await repo.rule_set("missing") is None
    newer = DEFAULT_RULE_SET.model_copy(update={"version": "hubei-2026-v1"})
    await repo.add_rule_set(newer)
    assert [r.version for r in await repo.rule_sets()] == ["hubei-2025-v1", "hubei-2026-v1"]


async def test_screenings_are_kept_per_revision_oldest_first(repo) -> None:  # type: ignore[no-untyped-def]
    for revision in (2, 1):
        await repo.save_screening({"_id": f"A1#{revision}", "application_id": "A1", "revision": revision})
    await repo.save_screening({"_id": "A1#2", "application_id": "A1", "revision": 2, "outcome": "eligible"})
    found = await repo.screenings("A1")
    assert [r["revision"] for r in found] == [1, 2] and found[1]["outcome"] == "eligible"
    assert await repo.screenings("A2") == []


async def test_application_records_are_replaced_whole(repo) -> None:  # type: ignore[no-untyped-def]
    assert await repo.application("A1") is None
    await repo.save_application({"_id": "A1", "status": "eligible", "x": 1})
    await repo.save_application({"_id": "A1", "status": "withdrawn"})
    assert await repo.application("A1") == {"_id": "A1", "status": "withdrawn"}
