"""The in-memory fake and the Mongo adapter pass the same contract."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from zhongshi_contracts.dossier import Dossier
from zhongshi_intake import domain
from zhongshi_intake.domain import Round
from zhongshi_intake.repository import (
    AlreadyExists,
    ApplicationFilter,
    InMemoryIntakeRepository,
    IntakeRepository,
    MongoIntakeRepository,
)

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
ROUND = Round(id="R1", title="第一批", opens_on="2026-11-01", closes_on="2026-12-31", rule_set_version="v1")


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
async def repo(request: pytest.FixtureRequest) -> IntakeRepository:
    if request.param == "memory":
        return InMemoryIntakeRepository()
    mongo = MongoIntakeRepository(request.getfixturevalue("mongo_db"))
    await mongo.ensure_indexes()
    return mongo


async def test_rounds_are_unique_and_listed_newest_first(repo: IntakeRepository) -> None:
    await repo.add_round(ROUND)
    later = ROUND.model_copy(update={"id": "R2", "opens_on": ROUND.opens_on + timedelta(days=30)})
    await repo.add_round(later)
    with pytest.raises(AlreadyExists):
        await repo.add_round(ROUND)
    assert await repo.round("R1") == ROUND and await repo.round("R9") is None
    assert [r.id for r in await repo.rounds()] == ["R2", "R1"]


async def test_an_application_round_trips_with_its_timeline(
    repo: IntakeRepository, make_dossier: Callable[..., Dossier]
) -> None:
    app, _ = domain.submit(domain.draft(make_dossier(), ROUND, now=NOW), ROUND, now=NOW, event_id="e1")
    await repo.add(app)
    assert await repo.get(app.id) == app
    with pytest.raises(AlreadyExists):
        await repo.add(app)


async def test_the_idempotency_key_is_unique_per_applicant(
    repo: IntakeRepository, make_dossier: Callable[..., Dossier]
) -> None:
    first = domain.draft(make_dossier(), ROUND, now=NOW, idempotency_key="k")
    await repo.add(first)
    with pytest.raises(AlreadyExists):
        await repo.add(domain.draft(make_dossier(), ROUND, now=NOW, idempotency_key="k"))
    await repo.add(domain.draft(make_dossier(1), ROUND, now=NOW, idempotency_key="k"))  # another applicant
    await repo.add(domain.draft(make_dossier(), ROUND, now=NOW))  # no key: never a clash
    await repo.add(domain.draft(make_dossier(), ROUND, now=NOW))
    found = await repo.by_idempotency_key(first.applicant_credit_code, "k")
    assert found is not None and found.id == first.id


async def test_listing_filters_pages_and_orders_newest_first(
    repo: IntakeRepository, make_dossier: Callable[..., Dossier]
) -> None:
    apps = [domain.draft(make_dossier(i), ROUND, now=NOW + timedelta(minutes=i)) for i in (0, 1, 7)]
    for app in apps:
        await repo.add(app)
    total, page = await repo.list(ApplicationFilter(city_code="420100"), offset=0, limit=1)
    assert total == 2 and [a.id for a in page] == [apps[1].id]
    total, page = await repo.list(ApplicationFilter(), offset=1, limit=5)
    assert total == 3 and [a.id for a in page] == [apps[1].id, apps[0].id]
    total, _ = await repo.list(ApplicationFilter(status="submitted"), offset=0, limit=5)
    assert total == 0


async def test_rule_set_versions_are_learned_once_and_listed(repo: IntakeRepository) -> None:
    assert not await repo.knows_rule_set("v2")
    for version in ("v2", "v1", "v2"):
        await repo.learn_rule_set(version)
    assert await repo.knows_rule_set("v2") and await repo.rule_sets() == ["v1", "v2"]
