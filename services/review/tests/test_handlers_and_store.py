"""Review's handlers (redelivery, events arriving early) and its store contract (fake and Mongo)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from faststream.kafka import TestKafkaBroker
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.recommendation import Actor, ApplicationExceptionDecided, ApplicationForwarded
from zhongshi_review import handlers
from zhongshi_review.pool import Expert
from zhongshi_review.repository import ReviewRepository
from zhongshi_review.settings import ReviewSettings
from zhongshi_runtime.store import MemoryStore, MongoStore, Store
from zhongshi_runtime.testing import HandlerHarness, envelope

from .review_fixtures import NOW, expert

ACTOR = Actor(id="u", role="city_official", region_code="420100")


def common(app_id: str) -> dict:  # type: ignore[type-arg]
    return {"application_id": app_id, "round_id": "R1", "revision": 1, "actor": ACTOR, "opinion": "同意",
            "acted_at": NOW, "region_code": "420111", "city_code": "420100", "applicant_credit_code": "c",
            "applicant_name": "a", "platform_name": "p"}


def forwarded(
    make_dossier: Callable[..., Dossier], app_id: str = "A1", flagged: list[str] | None = None
) -> ApplicationForwarded:
    return ApplicationForwarded(**common(app_id), level="city", priority=1, quota=3, opinions=[],
                                flagged=flagged or [], rule_set_version="v1", clauses=[], dossier=make_dossier())


class ReviewHarness(HandlerHarness):
    """The handler harness plus review's in-memory repository."""

    repo: ReviewRepository


@pytest.fixture
def harness() -> ReviewHarness:
    h = ReviewHarness(ReviewSettings(handler_retry_backoff_s=0))
    h.repo = ReviewRepository.memory()
    handlers.register(h.consumers, h.uow, h.repo)
    return h


async def test_a_forwarded_application_becomes_a_candidate_once(
    harness: ReviewHarness, make_dossier: Callable[..., Dossier]
) -> None:
    message = envelope(forwarded(make_dossier))
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**message)
        await broker.publish(**message)
    candidate = await harness.repo.candidates.get("A1")
    assert candidate.ready and harness.uow.duplicates == 1


async def test_an_exception_decision_arriving_before_the_forwarding_is_kept(
    harness: ReviewHarness, make_dossier: Callable[..., Dossier]
) -> None:
    approved = ApplicationExceptionDecided(**common("A1"), level="province", approved=True, clauses=["C6"])
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(approved))
        await broker.publish(**envelope(forwarded(make_dossier, flagged=["C6"])))
    assert (await harness.repo.candidates.get("A1")).ready


async def test_a_flagged_candidate_waits_and_a_refusal_keeps_it_out(
    harness: ReviewHarness, make_dossier: Callable[..., Dossier]
) -> None:
    refused = ApplicationExceptionDecided(**common("A1"), level="province", approved=False, clauses=["C6"])
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(forwarded(make_dossier, flagged=["C6"])))
        assert not (await harness.repo.candidates.get("A1")).ready
        await broker.publish(**envelope(refused))
    candidate = await harness.repo.candidates.get("A1")
    assert candidate.declined_by_province and not candidate.ready


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> Store[Expert]:
    return MemoryStore() if request.param == "memory" else MongoStore(request.getfixturevalue("mongo_db"), "x", Expert)


async def test_the_store_contract(store: Store[Expert]) -> None:
    a, b = expert(1, ["laser", "aerospace"]), expert(2, ["laser"])
    assert await store.add("E001", a) is True
    assert await store.add("E001", b) is False
    await store.put("E002", b)
    assert await store.get("E001") == a and await store.get("nope") is None
    assert [e.id for e in await store.find(fields="aerospace")] == ["E001"]
    assert [e.id for e in await store.find(fields="laser")] == ["E001", "E002"]
    assert [e.id for e in await store.find(name="专家2")] == ["E002"]
    assert await store.many(["E002", "nope", "E001"]) == {"E001": a, "E002": b}
    assert await store.many([]) == {}
