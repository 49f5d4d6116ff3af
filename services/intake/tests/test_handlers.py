"""Intake's timeline handler on FastStream's TestKafkaBroker with in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from faststream.kafka import TestKafkaBroker
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import ApplicationScreened, ClauseResult, Event
from zhongshi_contracts.registry import (
    FinalDecision,
    PlatformAccredited,
    PlatformCultivationListed,
    PublicityClosed,
)
from zhongshi_intake import domain, handlers
from zhongshi_intake.domain import Round, Status
from zhongshi_intake.repository import InMemoryIntakeRepository
from zhongshi_intake.settings import IntakeSettings
from zhongshi_runtime.testing import HandlerHarness, envelope

E = TypeVar("E", bound=Event)
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
ROUND = Round(id="R1", title="t", opens_on="2026-11-01", closes_on="2026-12-31", rule_set_version="v1")


class IntakeHarness(HandlerHarness):
    """The handler harness plus intake's repository and the application it holds."""

    repo: InMemoryIntakeRepository
    app_id: str


@pytest.fixture
async def harness(make_dossier: Callable[..., Dossier]) -> IntakeHarness:
    h = IntakeHarness(IntakeSettings(handler_retry_backoff_s=0))
    h.repo = InMemoryIntakeRepository()
    app, _ = domain.submit(domain.draft(make_dossier(), ROUND, now=NOW), ROUND, now=NOW, event_id="e0")
    await h.repo.add(app)
    h.app_id = app.id
    handlers.register(h.consumers, h.uow, h.repo)
    return h


def screened(app_id: str, outcome: str, revision: int = 1) -> ApplicationScreened:
    failing = ["C7"] if outcome == "ineligible" else []
    return ApplicationScreened(
        application_id=app_id, round_id="R1", revision=revision, rule_set_version="v1", as_of="2026-11-27",
        outcome=outcome, failing=failing, flagged=[], screened_at=NOW, applicant_name="a",
        applicant_credit_code="c", platform_name="p", region_code="420111", city_code="420100",
        clauses=[ClauseResult(clause="C7", title="专业人才10人以上", in_principle=False, measured="7人",
                              threshold="≥ 10人", status="fail" if failing else "pass",
                              reason="专业人才7人，不足10人" if failing else "符合")],
    )


async def test_an_ineligible_verdict_returns_the_application_with_reasons(harness: IntakeHarness) -> None:
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(screened(harness.app_id, "ineligible")))
    app = await harness.repo.get(harness.app_id)
    assert app.status is Status.RETURNED
    assert "C7 专业人才7人，不足10人" in app.timeline[-1].summary


async def test_a_redelivered_verdict_appears_once_in_the_timeline(harness: IntakeHarness) -> None:
    message = envelope(screened(harness.app_id, "eligible"))
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**message)
        await broker.publish(**message)
    app = await harness.repo.get(harness.app_id)
    assert [t.event_type for t in app.timeline] == ["pilot.application.submitted", "pilot.application.screened"]
    [record] = harness.uow.audit  # the consumed event is audited once, as the service, with its handler and id
    assert (record.actor_subject, record.action, record.application_ids, record.round_id) == (
        "service:intake", "intake.on_screened", [harness.app_id], "R1")
    assert record.event_id == message["headers"]["ce_id"]


async def test_a_stale_verdict_is_recorded_but_does_not_move_the_status(harness: IntakeHarness) -> None:
    app = await harness.repo.get(harness.app_id)
    await harness.repo.save(app.model_copy(update={"revision": 2}))  # resubmitted before the first verdict came
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(screened(harness.app_id, "eligible", revision=1)))
    app = await harness.repo.get(harness.app_id)
    assert app.status is Status.SUBMITTED and "已被取代" in app.timeline[-1].summary


async def test_a_verdict_for_an_unknown_application_is_dead_lettered(harness: IntakeHarness) -> None:
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(screened("A-unknown", "eligible")))
    assert harness.dead_letters[0][1]["dlq_kind"] == "rejected" and harness.uow.audit == []


def chain_step(cls: Callable[..., E], app_id: str, revision: int = 1, **extra: Any) -> E:
    from zhongshi_contracts.recommendation import Actor

    return cls(application_id=app_id, round_id="R1", revision=revision, level=extra.pop("level", "county"),
               actor=Actor(id="u1", role="county_official", region_code="420111"), opinion="经审核，同意推荐",
               acted_at=NOW, region_code="420111", city_code="420100", applicant_credit_code="c",
               applicant_name="a", platform_name="p", **extra)


async def test_department_steps_show_in_the_timeline_once_each_with_their_opinion(harness: IntakeHarness) -> None:
    from zhongshi_contracts.recommendation import ApplicationExceptionDecided, ApplicationRecommended

    recommended = envelope(chain_step(ApplicationRecommended, harness.app_id))
    decided = envelope(chain_step(ApplicationExceptionDecided, harness.app_id, level="province", approved=False,
                                  clauses=["C5"]))
    async with TestKafkaBroker(harness.ready()) as broker:
        for message in (recommended, recommended, decided, decided):
            await broker.publish(**message)
    app = await harness.repo.get(harness.app_id)
    assert [t.event_type.rsplit(".", 1)[1] for t in app.timeline] == ["submitted", "recommended", "exception-decided"]
    assert "县市区经信部门初审通过并推荐。意见：经审核，同意推荐" in app.timeline[1].summary
    assert "不同意" in app.timeline[2].summary and app.status is Status.DECLINED


async def test_a_step_about_an_earlier_submission_does_not_move_the_status(harness: IntakeHarness) -> None:
    from zhongshi_contracts.recommendation import ApplicationRejected

    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(chain_step(ApplicationRejected, harness.app_id, revision=0 + 2)))
    app = await harness.repo.get(harness.app_id)
    assert app.status is Status.SUBMITTED and app.timeline[-1].event_type == "pilot.application.rejected"


async def test_steps_arriving_out_of_order_across_topics_end_in_the_later_status(harness: IntakeHarness) -> None:
    from zhongshi_contracts.recommendation import ApplicationForwarded, ApplicationRecommended

    forwarded = chain_step(ApplicationForwarded, harness.app_id, level="city", priority=1, quota=3, opinions=[],
                           flagged=[], rule_set_version="v1", clauses=[],
                           dossier=(await harness.repo.get(harness.app_id)).dossier)
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(forwarded))  # a province-administered unit emits both at once
        await broker.publish(**envelope(chain_step(ApplicationRecommended, harness.app_id)))
        await broker.publish(**envelope(screened(harness.app_id, "eligible")))
    app = await harness.repo.get(harness.app_id)
    assert app.status is Status.EXPERT_REVIEW and len(app.timeline) == 4
    steps = [t.event_type.rsplit(".", 1)[1] for t in app.timeline]
    assert steps == ["submitted", "screened", "recommended", "forwarded"]  # in the order they happened


async def test_how_far_a_withdrawn_revision_got_does_not_depend_on_arrival_order(harness: IntakeHarness) -> None:
    from zhongshi_contracts.recommendation import ApplicationForwarded, ApplicationRecommended

    app = await harness.repo.get(harness.app_id)
    assert app is not None
    recommended = chain_step(ApplicationRecommended, app.id)
    forwarded = chain_step(ApplicationForwarded, app.id, level="city", priority=1, quota=3, opinions=[],
                           flagged=[], rule_set_version="v1", clauses=[], dossier=app.dossier)

    def withdrawn(a: domain.Application) -> domain.Application:
        return domain.withdraw(a, reason="不再申报", now=NOW, event_id="w")[0]

    def step(event: Any) -> Callable[[domain.Application], domain.Application]:
        return lambda a: domain.record_chain_step(a, event, event_id=event.topic.name)

    before, after = app, app
    for change in (step(recommended), step(forwarded), withdrawn):  # the order they happened in
        before = change(before)
    for change in (step(recommended), withdrawn, step(forwarded)):  # the forwarding read after the withdrawal
        after = change(after)
    assert (after.status, after.chain_step) == (before.status, before.chain_step) == (
        Status.WITHDRAWN, domain.step_order(forwarded))


def listed(app_id: str, accredited: bool) -> PlatformAccredited | PlatformCultivationListed:
    common: dict[str, Any] = {
              "application_id": app_id, "round_id": "R1", "platform_id": f"P-{app_id}", "platform_name": "p",
              "applicant_name": "a", "applicant_credit_code": "c", "region_code": "420111", "city_code": "420100",
              "platform_type": None, "clusters": [], "service_kinds": [], "listed_on": "2026-12-07",
              "listed_at": NOW}
    if accredited:
        return PlatformAccredited(**common, certificate_no="鄂中试〔2026〕001号", accredited_on="2026-12-07")
    return PlatformCultivationListed(**common)


@pytest.mark.parametrize(("proposed", "accredited", "final"), [
    (Status.PROPOSED_ACCREDITATION, True, Status.ACCREDITED),
    (Status.PROPOSED_CULTIVATION, False, Status.CULTIVATION),
    (Status.WITHDRAWN, True, Status.WITHDRAWN),  # a listing never revives a withdrawn application
])
async def test_a_listing_after_publicity_makes_the_proposed_decision_final(
        harness: IntakeHarness, proposed: Status, accredited: bool, final: Status) -> None:
    await harness.repo.save((await harness.repo.get(harness.app_id)).model_copy(update={"status": proposed}))
    message = envelope(listed(harness.app_id, accredited))
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**message)
        await broker.publish(**message)  # redelivered: one timeline entry
    app = await harness.repo.get(harness.app_id)
    assert app.status is final
    assert [t.event_type for t in app.timeline].count(message["topic"]) == 1
    if accredited:
        assert "鄂中试〔2026〕001号" in app.timeline[-1].summary


async def test_an_upheld_objection_at_closing_declines_only_the_application_it_was_about(
    harness: IntakeHarness
) -> None:
    await harness.repo.save((await harness.repo.get(harness.app_id)).model_copy(
        update={"status": Status.PROPOSED_ACCREDITATION}))
    closed = PublicityClosed(application_id="R1", round_id="R1", closed_at=NOW, objections=[], decisions=[
        FinalDecision(application_id=harness.app_id, decision="decline", changed_by_objection=True),
        FinalDecision(application_id="A-other", decision="accredit", changed_by_objection=False)])
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(closed))
    app = await harness.repo.get(harness.app_id)
    assert app.status is Status.OBJECTION_UPHELD and "异议" in app.timeline[-1].summary


async def test_intake_learns_the_rule_set_versions_screening_publishes(harness: IntakeHarness) -> None:
    from zhongshi_contracts.events import RuleSetPublished

    published = RuleSetPublished(application_id="hubei-2027-v1", round_id="", version="hubei-2027-v1",
                                 title="2027年版", published_at=NOW)
    assert not await harness.repo.knows_rule_set("hubei-2027-v1")
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(published))
        await broker.publish(**envelope(published))  # re-announced at screening's next start: no harm
    assert await harness.repo.knows_rule_set("hubei-2027-v1") and harness.dead_letters == []
