"""The handler shape: ``async def on_x(event, uow) -> list[Event]`` runs in one unit of work, recorded once under
``<service>.<handler name>/<event id>``; its after-commit effects run for the delivery that committed only."""

from __future__ import annotations

from datetime import UTC, datetime

from faststream.kafka import TestKafkaBroker
from zhongshi_contracts.events import ApplicationWithdrawn, Event
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.handling import EventUnit
from zhongshi_runtime.outbox import Consumed
from zhongshi_runtime.settings import ServiceSettings
from zhongshi_runtime.testing import HandlerHarness, envelope

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
WITHDRAWN = ApplicationWithdrawn(application_id="A1", round_id="R1", revision=1, withdrawn_at=NOW, reason="",
                                 applicant_credit_code="91420111MA0000000W", region_code="420111",
                                 city_code="420100")


class ReviewSettings(ServiceSettings):
    service_name = "review"


def harness() -> HandlerHarness:
    h = HandlerHarness(ReviewSettings(handler_retry_backoff_s=0))
    h.uow.service = "review"
    return h


async def test_the_key_is_the_service_and_handler_name_and_a_redelivery_changes_nothing() -> None:
    h, effects = harness(), []

    @h.consumers.within(h.uow)(ApplicationWithdrawn)
    async def on_withdrawn(event: ApplicationWithdrawn, uow: EventUnit) -> list[Event]:
        uow.after_commit(lambda: effects.append(uow.meta.id))
        return [event]

    published = envelope(WITHDRAWN)
    async with TestKafkaBroker(h.ready()) as broker:
        await broker.publish(**published)
        await broker.publish(**published)  # redelivered
    assert h.consumers.keys == {WITHDRAWN.topic.name: "review.on_withdrawn"}
    assert h.uow.consumed == {f"review.on_withdrawn/{published['headers']['ce_id']}"}
    assert effects == [published["headers"]["ce_id"]] and h.uow.duplicates == 1
    assert h.uow.published == [WITHDRAWN]
    assert [a.action for a in h.uow.audit] == ["review.on_withdrawn"]


async def test_a_renamed_handler_keeps_its_old_key_and_a_custom_audit() -> None:
    h = harness()

    def audit(consumed: Consumed) -> Audit:
        return Audit.consumed("review", consumed, outcome="noted")

    @h.consumers.within(h.uow)(ApplicationWithdrawn, name="on_withdrawal", audit=audit)
    async def note_withdrawal(event: ApplicationWithdrawn, uow: EventUnit) -> list[Event]:
        return []

    async with TestKafkaBroker(h.ready()) as broker:
        await broker.publish(**envelope(WITHDRAWN))
    assert h.consumers.keys == {WITHDRAWN.topic.name: "review.on_withdrawal"}
    assert [(a.action, a.outcome) for a in h.uow.audit] == [("review.on_withdrawal", "noted")]


async def test_a_failed_delivery_runs_no_after_commit_effect() -> None:
    h, effects, attempts = harness(), [], []

    @h.consumers.within(h.uow)(ApplicationWithdrawn)
    async def on_withdrawn(event: ApplicationWithdrawn, uow: EventUnit) -> list[Event]:
        uow.after_commit(lambda: effects.append("counted"))
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")
        return []

    async with TestKafkaBroker(h.ready()) as broker:
        await broker.publish(**envelope(WITHDRAWN))
    assert len(attempts) == 2 and effects == ["counted"]
