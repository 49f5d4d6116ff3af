"""Screening's handlers on FastStream's TestKafkaBroker with in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

import pytest
from faststream.kafka import TestKafkaBroker
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import ApplicationScreened, ApplicationSubmitted, ApplicationWithdrawn, ScreeningOutcome
from zhongshi_contracts.materials import MaterialReference
from zhongshi_runtime.testing import HandlerHarness, envelope
from zhongshi_screening import handlers
from zhongshi_screening.metrics import ScreeningMetrics
from zhongshi_screening.repository import InMemoryScreeningRepository
from zhongshi_screening.rules import DEFAULT_RULE_SET
from zhongshi_screening.settings import ScreeningSettings

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
UPLOADED = [MaterialReference(id=f"M-{k}", kind=k, title=k, sha256="0" * 64, size=100)
            for k in DEFAULT_RULE_SET.required_mechanism_kinds]


class ScreeningHarness(HandlerHarness):
    """The handler harness plus screening's in-memory repository."""

    repo: InMemoryScreeningRepository


@pytest.fixture
async def harness() -> ScreeningHarness:
    h = ScreeningHarness(ScreeningSettings(handler_retry_backoff_s=0))
    h.repo = InMemoryScreeningRepository()
    await h.repo.add_rule_set(DEFAULT_RULE_SET)
    handlers.register(h.consumers, h.uow, h.repo, ScreeningMetrics(h.metrics.registry), lambda: NOW)
    return h


def submitted(make_dossier: Callable[..., Dossier], revision: int = 1, **changes: Any) -> ApplicationSubmitted:
    return ApplicationSubmitted(
        application_id="A1", round_id="R1", revision=revision, rule_set_version="hubei-2025-v1",
        submitted_at=NOW, city_code="420100", dossier=make_dossier(**changes), materials=UPLOADED,
    )


async def test_a_submission_is_screened_and_announced(
    harness: ScreeningHarness, make_dossier: Callable[..., Dossier]
) -> None:
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(submitted(make_dossier, platform={"site_area_m2": "100"})))
    [screened] = harness.uow.published
    assert isinstance(screened, ApplicationScreened)
    assert screened.outcome == "needs_exception" and screened.flagged == ["C6"]
    assert screened.as_of.isoformat() == "2026-11-27" and screened.rule_set_version == "hubei-2025-v1"
    assert [r["revision"] for r in await harness.repo.screenings("A1")] == [1]


async def test_a_redelivered_event_changes_nothing(
    harness: ScreeningHarness, make_dossier: Callable[..., Dossier]
) -> None:
    message = envelope(submitted(make_dossier))
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**message)
        await broker.publish(**message)
    assert len(harness.uow.published) == 1 and harness.uow.duplicates == 1
    verdicts = [harness.metrics.registry.get_sample_value("zhongshi_screening_verdicts_total", {"outcome": o.value})
                for o in ScreeningOutcome]
    assert sum(v or 0 for v in verdicts) == 1  # observed once the delivery committed, never for the duplicate


@pytest.mark.parametrize(("body", "reason"), [(b'{"application_id": "A1"}', "dossier"), (b"{not json", "JSON")])
async def test_a_malformed_payload_is_dead_lettered_with_its_reason(
    harness: ScreeningHarness, make_dossier: Callable[..., Dossier], body: bytes, reason: str
) -> None:
    bad = envelope(submitted(make_dossier))
    bad["message"] = body
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**bad)
        await broker.publish(**envelope(submitted(make_dossier)))
    [(topic, headers, dead_body)] = harness.dead_letters
    assert topic == "pilot.internal.application.submitted.dlq" and dead_body == body  # it carries contacts
    assert headers["dlq_kind"] == "invalid" and reason in headers["dlq_reason"]
    assert headers["dlq_source_topic"] == "pilot.internal.application.submitted"
    assert len(harness.uow.published) == 1  # the next good message still flowed


async def test_an_unknown_rule_set_is_dead_lettered_at_once(
    harness: ScreeningHarness, make_dossier: Callable[..., Dossier]
) -> None:
    event = submitted(make_dossier).model_copy(update={"rule_set_version": "nope"})
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(event))
    [(_, headers, _)] = harness.dead_letters
    assert headers["dlq_kind"] == "rejected" and "nope" in headers["dlq_reason"]
    assert harness.uow.published == []


async def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered(
    harness: ScreeningHarness, make_dossier: Callable[..., Dossier]
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise ValueError("a corrupt record")

    harness.repo.rule_set = broken  # type: ignore[method-assign]  # the fake's read fails from now on
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(submitted(make_dossier)))
    [(_, headers, _)] = harness.dead_letters
    assert headers["dlq_kind"] == "failed" and "a corrupt record" in headers["dlq_reason"]
    retries = harness.metrics.registry.get_sample_value(
        "zhongshi_handler_retries_total", {"service": "screening", "topic": "pilot.internal.application.submitted"})
    assert retries == 2  # three attempts in all


async def test_a_withdrawn_application_gets_no_late_verdict(
    harness: ScreeningHarness, make_dossier: Callable[..., Dossier]
) -> None:
    withdrawn = ApplicationWithdrawn(
        application_id="A1", round_id="R1", revision=1, withdrawn_at=NOW, reason="",
        applicant_credit_code="x", region_code="420111", city_code="420100",
    )
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(withdrawn))
        await broker.publish(**envelope(submitted(make_dossier)))
    assert harness.uow.published == []
    assert await harness.repo.withdrawal("A1") == 1 and await harness.repo.case("A1") is None
