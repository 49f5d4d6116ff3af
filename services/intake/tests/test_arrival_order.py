"""Intake's status after what the other services send about one submission, in any arrival order, is the status
in the order it happened: their topics are consumed apart, so a decision can overtake the forwarding it
followed, and a listing the decision."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import ApplicationScreened, Event, ScreeningOutcome
from zhongshi_contracts.recommendation import (
    ApplicationExceptionDecided,
    ApplicationForwarded,
    ApplicationRecommended,
    ApplicationRejected,
    ApplicationReturned,
)
from zhongshi_contracts.registry import PlatformAccredited, PlatformCultivationListed, PublicityClosed
from zhongshi_contracts.review import Decision, ReviewDecided
from zhongshi_intake import domain
from zhongshi_intake.domain import Application, Status

from .test_handlers import NOW, ROUND, chain_step, listed, screened

APP = "A1"


def forwarded(flagged: bool) -> ApplicationForwarded:
    """Only what intake reads of a forwarding (its dossier plays no part in the status)."""
    step = chain_step(ApplicationRecommended, APP, level="city")
    return ApplicationForwarded.model_construct(**dict(step), priority=1, flagged=["C5"] if flagged else [])


def decided(decision: Decision) -> ReviewDecided:
    return ReviewDecided(application_id=APP, round_id="R1", decision=decision, score=None, rank=None,
                         rubric_version="v1", aggregation="trimmed_mean", panel=[], overridden=False,
                         justification="按分数排名", decided_at=NOW, region_code="420111", city_code="420100",
                         applicant_credit_code="c", applicant_name="a", platform_name="p")


def objection_upheld() -> PublicityClosed:
    return PublicityClosed(application_id="R1", round_id="R1", closed_at=NOW, decisions=[], objections=[])


@st.composite
def after_submission(draw: st.DrawFn) -> list[Event]:
    """What the other services send about one submission, in the order it happened."""
    outcome = draw(st.sampled_from(ScreeningOutcome))
    events: list[Event] = [screened(APP, outcome.value)]
    if outcome is ScreeningOutcome.INELIGIBLE:
        return events
    path = draw(st.sampled_from(["returned", "rejected", "city_returned", "city_rejected", "forwarded"]))
    if path in ("returned", "rejected"):
        return [*events, chain_step(ApplicationReturned if path == "returned" else ApplicationRejected, APP)]
    events.append(chain_step(ApplicationRecommended, APP))
    if path != "forwarded":
        return [*events, chain_step(ApplicationReturned if path == "city_returned" else ApplicationRejected, APP,
                                    level="city")]
    return [*events, *from_the_province(draw, outcome is ScreeningOutcome.NEEDS_EXCEPTION)]


def from_the_province(draw: st.DrawFn, flagged: bool) -> list[Event]:
    events: list[Event] = [forwarded(flagged)]
    if flagged:
        approved = draw(st.booleans())
        events.append(chain_step(ApplicationExceptionDecided, APP, level="province", approved=approved,
                                 clauses=["C5"]))
        if not approved:
            return events
    decision = draw(st.sampled_from(Decision))
    events.append(decided(decision))
    if decision is not Decision.DECLINE:
        ending: list[list[Event]] = [[], [listed(APP, decision is Decision.ACCREDIT)], [objection_upheld()]]
        events += draw(st.sampled_from(ending))
    return events


def record(app: Application, event: Event) -> Application:
    """The domain function intake's handler applies ``event`` with."""
    appliers: dict[type[Event], Callable[..., Application]] = {
        ApplicationScreened: domain.record_screening, ReviewDecided: domain.record_decision,
        PlatformAccredited: domain.record_listing, PlatformCultivationListed: domain.record_listing,
        PublicityClosed: domain.record_objection_upheld,
    }
    apply = appliers.get(type(event), domain.record_chain_step)
    return apply(app, event, event_id=f"{type(event).__name__}-{len(app.timeline)}")


def status_after(event: Any) -> Status:
    """The status ``event`` leads to when it is the last to happen."""
    match event:
        case ApplicationScreened():
            return domain.OUTCOME_STATUS[event.outcome]
        case ReviewDecided():
            return domain.DECISION_STATUS[event.decision]
        case PlatformAccredited():
            return Status.ACCREDITED
        case PlatformCultivationListed():
            return Status.CULTIVATION
        case PublicityClosed():
            return Status.OBJECTION_UPHELD
    return domain.chain_status(event)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_arrival_order_ends_in_the_status_of_what_happened_last(make_dossier: Callable[..., Dossier],
                                                                    data: st.DataObject) -> None:
    submitted, _ = domain.submit(domain.draft(make_dossier(), ROUND, now=NOW), ROUND, now=NOW, event_id="e0")
    submitted = submitted.model_copy(update={"id": APP})
    events = data.draw(after_submission())
    arrived = data.draw(st.permutations(events))
    in_order, shuffled = submitted, submitted
    for event in events:
        in_order = record(in_order, event)
    for event in arrived:
        shuffled = record(shuffled, event)
    assert in_order.status is status_after(events[-1]), [type(e).__name__ for e in events]
    assert shuffled.status is in_order.status, [type(e).__name__ for e in arrived]
