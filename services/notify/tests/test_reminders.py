"""Reminders N days before a stage's last day, escalation the day after, each firing once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zhongshi_notify.domain import Case, Stage
from zhongshi_notify.reminders import TimerKind, due, window

DEADLINE = date(2026, 12, 10)
ROUND = {"R1": {"county_review": DEADLINE, "city_review": DEADLINE, "exception_review": DEADLINE}}


def case(app_id: str, stage: Stage = Stage.COUNTY_REVIEW, region: str = "420111", city: str = "420100") -> Case:
    return Case(application_id=app_id, round_id="R1", revision=1, stage=stage, region_code=region, city_code=city)


@pytest.mark.parametrize(("days_left", "expected"), [
    (4, None), (3, 3), (2, 3), (1, 1), (0, 1), (-1, None)])
def test_the_reminder_window_open_on_a_day(days_left: int, expected: int | None) -> None:
    assert window(DEADLINE - timedelta(days=days_left), DEADLINE, [3, 1]) == expected


def test_a_reminder_goes_to_the_queue_holder_n_days_before_with_the_count() -> None:
    [timer] = due(DEADLINE - timedelta(days=3), ROUND, [case("a"), case("b")], [3, 1])
    assert (timer.kind, timer.recipient, timer.count, timer.window) == (TimerKind.REMINDER, "420111", 2, 3)
    assert timer.id == "reminder:R1:county_review:420111:2026-12-10:3d"
    facts = timer.notice().facts
    assert facts["remaining"] == "还剩3天" and facts["holder_name"] == "武汉市洪山区" and facts["count"] == "2"
    assert due(DEADLINE - timedelta(days=4), ROUND, [case("a")], [3, 1]) == []


def test_the_reminder_is_the_same_timer_all_through_its_window() -> None:
    ids = {t.id for day in (3, 2) for t in due(DEADLINE - timedelta(days=day), ROUND, [case("a")], [3, 1])}
    assert ids == {"reminder:R1:county_review:420111:2026-12-10:3d"}
    [last] = due(DEADLINE, ROUND, [case("a")], [3, 1])
    assert last.id.endswith(":1d") and last.notice().facts["remaining"] == "今天截止"


def test_the_day_after_the_deadline_the_level_above_is_told() -> None:
    late = DEADLINE + timedelta(days=1)
    timers = due(late, ROUND, [case("a"), case("b", Stage.CITY_REVIEW), case("c", Stage.EXCEPTION_REVIEW),
                               case("d", region="429004", city="429004")], [3, 1])
    assert [(t.kind, t.stage, t.holder, t.recipient) for t in timers] == [
        (TimerKind.ESCALATION, Stage.CITY_REVIEW, "420100", "42"),
        (TimerKind.ESCALATION, Stage.COUNTY_REVIEW, "420111", "420100"),
        (TimerKind.ESCALATION, Stage.COUNTY_REVIEW, "429004", "42"),  # 仙桃: no city level above
        (TimerKind.ESCALATION, Stage.EXCEPTION_REVIEW, "42", "42"),  # the top is told itself
    ]
    assert timers[1].id == "escalation:R1:county_review:420111:2026-12-10"
    assert timers[1].notice().facts["overdue_days"] == "1"
    assert due(DEADLINE, ROUND, [case("a")], []) == []  # on the last day itself nothing is overdue


def test_nothing_is_due_without_a_deadline_or_outside_an_officials_queue() -> None:
    assert due(DEADLINE, {}, [case("a")], [3, 1]) == []
    assert due(DEADLINE, ROUND, [case("a", Stage.EXPERT_REVIEW), case("b", Stage.RETURNED)], [3, 1]) == []


def test_a_changed_deadline_is_a_new_timer() -> None:
    moved = {"R1": {"county_review": DEADLINE + timedelta(days=7)}}
    first = due(DEADLINE - timedelta(days=1), ROUND, [case("a")], [3, 1])[0].id
    second = due(DEADLINE + timedelta(days=6), moved, [case("a")], [3, 1])[0].id
    assert first != second and second.startswith("reminder:") and "2026-12-17" in second


@given(st.integers(min_value=-30, max_value=30), st.lists(st.integers(min_value=0, max_value=20), max_size=4))
def test_at_most_one_timer_per_queue_reminders_only_before_and_escalation_only_after(
    offset: int, days_before: list[int]
) -> None:
    today = DEADLINE + timedelta(days=offset)
    timers = due(today, ROUND, [case("a"), case("b")], sorted(set(days_before), reverse=True))
    assert len(timers) <= 1
    for timer in timers:
        if timer.kind is TimerKind.ESCALATION:
            assert today > DEADLINE
        else:
            assert 0 <= (DEADLINE - today).days <= timer.window <= max(days_before)  # type: ignore[operator]
    if today > DEADLINE:
        assert [t.kind for t in timers] == [TimerKind.ESCALATION]
