"""The registry's handlers (redelivery, profiles from forwarded dossiers) and its store contract (fake and
Mongo)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker
from pymongo.errors import DuplicateKeyError
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import ApplicationScreened, ApplicationWithdrawn, ScreeningOutcome
from zhongshi_contracts.recommendation import Actor, ApplicationForwarded
from zhongshi_contracts.review import Decision, ReviewDecided
from zhongshi_registry import handlers, statistics
from zhongshi_registry.entries import Entry, Status
from zhongshi_registry.facts import ForwardedFacts, ScreenedFacts
from zhongshi_registry.public import Filters
from zhongshi_registry.repository import RegistryRepository, ensure_indexes
from zhongshi_registry.settings import RegistrySettings
from zhongshi_runtime.store import MemoryStore, MongoStore
from zhongshi_runtime.testing import HandlerHarness, envelope

from .registry_fixtures import DECIDED

ACTOR = Actor(id="u", role="city_official", region_code="420100")
COMMON = {"round_id": "R1", "region_code": "420111", "city_code": "420100", "applicant_credit_code": "c",
          "applicant_name": "某公司", "platform_name": "某平台"}


def forwarded(dossier: Dossier, app_id: str = "A1") -> ApplicationForwarded:
    return ApplicationForwarded(**COMMON, application_id=app_id, revision=1, actor=ACTOR, opinion="同意",
                                acted_at=DECIDED, level="city", priority=1, quota=3, opinions=[], flagged=[],
                                rule_set_version="v1", clauses=[], dossier=dossier)


def decided(app_id: str = "A1") -> ReviewDecided:
    return ReviewDecided(**COMMON, application_id=app_id, decision=Decision.ACCREDIT, score=Decimal("88.50"), rank=1,
                         rubric_version="v1", aggregation="trimmed_mean", panel=[], overridden=False,
                         justification="按分数排名", decided_at=DECIDED)


@pytest.fixture
def harness() -> Any:
    h = HandlerHarness(RegistrySettings(handler_retry_backoff_s=0))
    h.repo = RegistryRepository.memory()  # type: ignore[attr-defined]
    handlers.register(h.consumers, h.uow, h.repo)  # type: ignore[attr-defined]
    return h


async def test_a_forwarded_dossier_leaves_a_profile_without_contacts(harness: Any,
                                                                     make_dossier: Callable[..., Dossier]) -> None:
    dossier = make_dossier(5)
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(forwarded(dossier)))
    profile = await harness.repo.profiles.get("A1")
    assert profile.platform_type == dossier.platform.platform_type and profile.clusters == dossier.platform.clusters
    assert dossier.applicant.contact.phone not in profile.model_dump_json()


async def test_a_redelivered_decision_is_recorded_once(harness: Any) -> None:
    message = envelope(decided())
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**message)
        await broker.publish(**message)
    record = await harness.repo.decisions.get("A1")
    assert record.decision is Decision.ACCREDIT and record.rank == 1 and harness.uow.duplicates == 1
    assert harness.dead_letters == []


def entry(n: int, credit_code: str, status: Status = Status.ACCREDITED) -> Entry:
    return Entry(id=f"P-A{n}", kind="platform", status=status, application_id=f"A{n}", round_id="R1",
                 platform_name=f"平台{n}", applicant_name="某公司", applicant_credit_code=credit_code,
                 region_code="420111", city_code="420100", platform_type=None, clusters=["laser"], service_kinds=[],
                 listed_on=date(2026, 12, 7), certificate_no=f"鄂中试〔2026〕00{n}号", accredited_on=date(2026, 12, 7))


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> Any:
    return MemoryStore() if request.param == "memory" else MongoStore(request.getfixturevalue("mongo_db"), "e", Entry)


async def test_the_store_contract(store: Any) -> None:
    a, b = entry(1, "C1"), entry(2, "C2", Status.REVOKED)
    assert await store.add("P-A1", a) is True
    assert await store.add("P-A1", b) is False
    await store.put("P-A2", b)
    assert await store.get("P-A1") == a and await store.get("nope") is None
    assert [e.id for e in await store.find(clusters="laser")] == ["P-A1", "P-A2"]
    assert [e.id for e in await store.find(certificate_no="鄂中试〔2026〕002号")] == ["P-A2"]
    assert [e.id for e in await store.find(applicant_credit_code="C1", status="accredited")] == ["P-A1"]
    assert await store.find(kind="cultivation") == []


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
def repo(request: pytest.FixtureRequest) -> RegistryRepository:
    if request.param == "memory":
        return RegistryRepository.memory()
    return RegistryRepository.mongo(request.getfixturevalue("mongo_db"))


async def test_the_public_listing_filters_and_pages_the_same_in_memory_and_in_the_database(
        repo: RegistryRepository) -> None:
    items = [entry(1, "C1"), entry(2, "C2", Status.REVOKED),
             Entry.model_validate({**entry(3, "C3").model_dump(), "clusters": ["big_health"], "city_code": "420500",
                                   "platform_name": "大健康(中试)平台", "region_code": "420502"})]
    for item in items:
        await repo.entries.put(item.id, item)

    async def ids(offset: int = 0, limit: int = 20, **filters: str) -> tuple[int, list[str]]:
        total, page = await repo.listing.page(Filters(**filters), offset, limit)
        return total, [e.id for e in page]

    assert await ids() == (3, ["P-A1", "P-A2", "P-A3"])
    assert await ids(offset=1, limit=1) == (3, ["P-A2"])
    assert await ids(city="420500") == (1, ["P-A3"])
    assert await ids(county="420502", status="accredited") == (1, ["P-A3"])
    assert await ids(cluster="laser", status="revoked") == (1, ["P-A2"])
    assert await ids(tier="trillion") == (1, ["P-A3"])  # big_health is a trillion-yuan cluster, laser is not
    assert await ids(tier="hundred_billion") == (2, ["P-A1", "P-A2"])
    assert await ids(q="(中试)") == (1, ["P-A3"])  # text, not a pattern
    assert await ids(q=".*") == (0, [])


async def test_certificate_sequences_hand_out_each_number_once(repo: RegistryRepository) -> None:
    assert await repo.sequences.claim("certificate/2026", 3) == 1
    assert await repo.sequences.claim("certificate/2026", 1) == 4
    assert await repo.sequences.claim("certificate/2027", 2) == 1


@pytest.mark.integration
async def test_an_older_database_gets_its_certificate_number_index_made_unique(mongo_db: Any) -> None:
    await mongo_db.entries.create_index([("certificate_no", 1)])  # as created before numbers were unique
    await ensure_indexes(mongo_db)
    await ensure_indexes(mongo_db)  # and again at the next start: nothing to change
    assert (await mongo_db.entries.index_information())["certificate_no_1"]["unique"] is True
    await mongo_db.entries.insert_one({"_id": "P-A1", "certificate_no": "鄂中试〔2026〕001号"})
    with pytest.raises(DuplicateKeyError):
        await mongo_db.entries.insert_one({"_id": "P-A2", "certificate_no": "鄂中试〔2026〕001号"})


def test_a_rebuild_reads_the_same_profile_from_the_forwarded_events_platform_facts(
        make_dossier: Callable[..., Dossier]) -> None:
    event = forwarded(make_dossier(3))
    facts = ForwardedFacts.model_validate_json(event.model_dump_json().encode())
    assert handlers.profile_of(facts) == handlers.profile_of(event)


def screened(outcome: ScreeningOutcome, app_id: str = "A1") -> ApplicationScreened:
    return ApplicationScreened(
        application_id=app_id, round_id="R1", revision=2, rule_set_version="hubei-2025-v1", as_of=date(2026, 5, 1),
        outcome=outcome, clauses=[], failing=[], flagged=[], screened_at=datetime(2026, 5, 1, 2, tzinfo=UTC),
        applicant_name="武汉某公司", applicant_credit_code="91420111MA4KXXXX0X", platform_name="中试平台",
        region_code="420111", city_code="420100")


def withdrawn(app_id: str = "A1") -> ApplicationWithdrawn:
    return ApplicationWithdrawn(application_id=app_id, round_id="R1", revision=2, reason="",
                                withdrawn_at=datetime(2026, 5, 2, 2, tzinfo=UTC), applicant_credit_code="c",
                                region_code="420111", city_code="420100")


@pytest.mark.parametrize("outcome", list(ScreeningOutcome))
def test_a_rebuild_reads_the_same_candidacy_from_the_verdicts_facts(outcome: ScreeningOutcome) -> None:
    event = screened(outcome)
    facts = ScreenedFacts.model_validate_json(event.model_dump_json().encode())
    assert handlers.candidacy_of(facts) == handlers.candidacy_of(event)


def candidates_of_wuhan(counts: dict[str, int]) -> int:
    return int(next(c["candidates"] for c in statistics.stats(counts)["candidates_by_city"]
                    if c["city_code"] == "420100"))


@pytest.mark.parametrize("withdrawal_first", [False, True])
async def test_a_withdrawn_application_is_no_citys_candidate_whichever_event_arrives_first(
        harness: Any, withdrawal_first: bool) -> None:
    """Screening and withdrawal come on two topics, consumed apart: either order ends the same."""
    events = [screened(ScreeningOutcome.ELIGIBLE, "A1"), withdrawn("A1")]
    async with TestKafkaBroker(harness.ready()) as broker:
        for event in reversed(events) if withdrawal_first else events:
            await broker.publish(**envelope(event))
        await broker.publish(**envelope(screened(ScreeningOutcome.ELIGIBLE, "A2")))  # stays a candidate
    assert candidates_of_wuhan(await harness.repo.statistics()) == 1
    assert (await harness.repo.candidacy("A1")).withdrawn and harness.dead_letters == []
