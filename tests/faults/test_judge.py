"""The fault suite's judgement: a round is judged only once the stack has settled (or at the deadline), and a
step that arrives after the nominal wait counts as late, not lost."""

from __future__ import annotations

from tests.faults.harness import Judge
from tests.faults.invariant import Findings
from tests.faults.quiescence import State

MISSING = Findings(lost=["A-1: email for pilot.review.decided never planned"])
CLEAN = Findings()


def test_a_step_arriving_after_the_nominal_wait_is_late_not_lost() -> None:
    judge = Judge(began=0, nominal_s=60, deadline_s=600)
    assert judge(False, MISSING, 10) == ""  # the stack still works: nothing is judged
    assert judge(False, MISSING, 61) == ""  # the nominal wait passed with A-1 incomplete
    assert judge(True, MISSING, 100) == ""  # settled a moment ago: the last step may be landing
    assert judge(True, CLEAN, 105) == "settled"
    assert judge.late(CLEAN) == {"A-1"}


def test_a_step_missing_while_the_stack_stays_settled_is_lost_before_the_deadline() -> None:
    judge = Judge(began=0, nominal_s=60, deadline_s=600, stable_s=30)
    assert judge(True, MISSING, 70) == ""
    assert judge(False, MISSING, 80) == ""  # busy again: the settled time starts over
    assert judge(True, MISSING, 90) == ""
    assert judge(True, MISSING, 119) == ""
    assert judge(True, MISSING, 120) == "settled"
    assert judge.late(MISSING) == set()
    assert MISSING.lost_applications() == {"A-1"}


def test_a_stack_that_never_settles_is_judged_at_the_deadline() -> None:
    judge = Judge(began=0, nominal_s=60, deadline_s=600)
    assert judge(False, CLEAN, 599) == ""
    assert judge(False, CLEAN, 601) == "deadline"
    assert judge.late(CLEAN) == set()


def test_nothing_in_flight_is_settled_and_anything_unknown_is_not() -> None:
    assert State(lag={"zhongshi-notify": 0}, unpublished={"intake": 0}).settled
    assert not State(lag={"zhongshi-notify": 3}).settled
    assert not State(unpublished={"review": 1}).settled
    assert not State(unsent=2).settled
    assert not State(error="broker restarting").settled
    assert str(State(lag={"zhongshi-notify": 3}, unsent=2)) == "lag zhongshi-notify 3, unsent 2"
