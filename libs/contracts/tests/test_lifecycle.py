"""The lifecycle projection: any arrival order of one application's events ends in the stage its last event
led to, and every stage has its Chinese name and description."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from zhongshi_contracts.events import (
    ApplicationScreened,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    Event,
    ScreeningOutcome,
)
from zhongshi_contracts.lifecycle import DESCRIPTIONS, NAMES, RANK, Position, Stage, advance, stage_after
from zhongshi_contracts.recommendation import (
    ApplicationExceptionDecided,
    ApplicationForwarded,
    ApplicationRecommended,
    ApplicationRejected,
    ApplicationReturned,
)
from zhongshi_contracts.registry import PlatformAccredited, PlatformCultivationListed
from zhongshi_contracts.review import Decision, ReviewDecided


def made(model: type[Event], **fields: Any) -> Event:
    """An event with only the fields the projection reads (the others play no part in the stage)."""
    return model.model_construct(application_id="app-1", round_id="r1", **fields)


@st.composite
def history(draw: st.DrawFn) -> list[Event]:
    """One application's events in the order they happened: submissions, screening, the chain (returns and
    resubmissions included), the exception decision, expert review and listing, or a withdrawal on the way."""
    events: list[Event] = []
    for revision in range(1, draw(st.integers(1, 3)) + 1):
        events.append(made(ApplicationSubmitted, revision=revision))
        if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:
            return [*events, made(ApplicationWithdrawn, revision=revision)]
        outcome = draw(st.sampled_from(ScreeningOutcome))
        events.append(made(ApplicationScreened, revision=revision, outcome=outcome))
        if outcome is ScreeningOutcome.INELIGIBLE:
            continue
        steps = draw(st.sampled_from(["returned", "rejected", "city_returned", "city_rejected", "forwarded"]))
        if steps == "returned":
            events.append(made(ApplicationReturned, revision=revision))
            continue
        if steps == "rejected":
            return [*events, made(ApplicationRejected, revision=revision)]
        events.append(made(ApplicationRecommended, revision=revision))
        if draw(st.integers(0, 4)) == 0:
            return [*events, made(ApplicationWithdrawn, revision=revision)]
        if steps == "city_returned":
            events.append(made(ApplicationReturned, revision=revision))
            continue
        if steps == "city_rejected":
            return [*events, made(ApplicationRejected, revision=revision)]
        return [*events, *chosen(draw, revision, outcome is ScreeningOutcome.NEEDS_EXCEPTION)]
    return events


def chosen(draw: st.DrawFn, revision: int, flagged: bool) -> list[Event]:
    """From the forward to the province on: the exception decision, the review decision and the listing."""
    events = [made(ApplicationForwarded, revision=revision, flagged=flagged)]
    if flagged:
        approved = draw(st.booleans())
        events.append(made(ApplicationExceptionDecided, revision=revision, approved=approved))
        if not approved:
            return events
    decision = draw(st.sampled_from(Decision))
    events.append(made(ReviewDecided, decision=decision))
    if draw(st.booleans()) and decision is not Decision.DECLINE:
        events.append(made(PlatformAccredited if decision is Decision.ACCREDIT else PlatformCultivationListed))
    return events


def settled(events: list[Event]) -> Position | None:
    position: Position | None = None
    for event in events:
        position = advance(position, event)
    return position


@given(st.data())
def test_any_arrival_order_ends_in_the_stage_of_the_last_event(data: st.DataObject) -> None:
    events = data.draw(history())
    arrived = data.draw(st.permutations(events))
    last = stage_after(events[-1])
    in_order, shuffled = settled(events), settled(arrived)
    assert in_order is not None and shuffled is not None
    assert in_order.stage is last, [type(e).__name__ for e in events]
    assert shuffled == in_order, ([type(e).__name__ for e in events], [type(e).__name__ for e in arrived])


def test_a_resubmission_starts_again_below_the_previous_end() -> None:
    returned = advance(None, made(ApplicationReturned, revision=1))
    again = advance(returned, made(ApplicationSubmitted, revision=2))
    assert again is not None and again.stage is Stage.SUBMITTED and again.revision == 2
    assert advance(again, made(ApplicationRecommended, revision=1)) == again  # a step on the old submission


def test_events_that_move_no_stage_leave_the_position() -> None:
    start = advance(None, made(ApplicationSubmitted, revision=1))
    assert advance(start, made(Event)) == start


def test_every_stage_is_named_described_and_ranked() -> None:
    assert set(NAMES) == set(DESCRIPTIONS) == set(RANK) == set(Stage)
    assert all(NAMES[s] and DESCRIPTIONS[s] for s in Stage)
    assert RANK[Stage.WITHDRAWN] == max(RANK.values()) and RANK[Stage.DRAFT] == min(RANK.values())
