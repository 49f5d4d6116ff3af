"""Scoring, publicity and annual-report deadlines, pure: what notify follows from the events (in any order)
and which reminders and escalations are due on a day."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import Event
from zhongshi_notify.deadlines import annual_reports_due, publicity_due, rectifications_due, report_due, scoring_due
from zhongshi_notify.domain import PROVINCE, Audience
from zhongshi_notify.planning import Contact, reply_contact, webhook_data, webhook_payload
from zhongshi_notify.reminders import TimerKind
from zhongshi_notify.tracking import (
    ExpertPanel,
    Platform,
    PublicityWindow,
    panel_after,
    platform_after,
    publicity_after,
)

from .samples import (
    ENDS_ON,
    OBJECTOR_EMAIL,
    OBJECTOR_PHONE,
    SCORE_BY,
    decided,
    declined,
    listed,
    meta,
    objection_filed,
    objection_resolved,
    panel_drawn,
    publicity_closed,
    publicity_opened,
    report_filed,
    revoked,
    scored,
    standing_confirmed,
    warned,
    withdrawn,
)

# ---- expert panels and the scoring deadline ------------------------------------------------------------


def follow(events: Iterable[Event], start: ExpertPanel | None = None) -> ExpertPanel | None:
    panel = start
    for event in events:
        panel = panel_after(panel, event, "激光中试平台")
    return panel


def followed(events: Iterable[Event], start: ExpertPanel) -> ExpertPanel:
    panel = follow(events, start)
    assert panel is not None
    return panel


def test_a_drawn_panel_waits_for_every_member_until_each_scored_or_declined() -> None:
    panel = follow([panel_drawn(experts=("E001", "E002", "E003"))])
    assert panel is not None and panel.open and panel.unscored == ["E001", "E002", "E003"]
    panel = follow([scored("E001"), declined("E004", expert="E002")], panel)
    assert panel.unscored == ["E003", "E004"] and panel.score_by == SCORE_BY  # the replacement inherits the day
    panel = follow([scored("E003"), scored("E004")], panel)
    assert panel.unscored == [] and not panel.open


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_the_panel_is_the_same_whatever_order_its_events_arrive_in(order: tuple[int, ...]) -> None:
    events = [panel_drawn(experts=("E001", "E002")), declined("E003"), scored("E001")]
    panel = follow([events[i] for i in order])
    assert panel is not None
    assert (panel.members, panel.unscored, panel.score_by) == (["E001", "E002", "E003"], ["E003"], SCORE_BY)


@pytest.mark.parametrize("ending", ["decided", "withdrawn"])
def test_a_decision_or_a_withdrawal_closes_the_panel_in_either_order(
    make_dossier: Callable[..., Dossier], ending: str
) -> None:
    """Read before the draw (the draw's topic lagged), it still closes it: no expert is asked to score a
    withdrawn or decided application."""
    d = make_dossier()
    closing = decided(d) if ending == "decided" else withdrawn(d)
    assert not follow([panel_drawn(), closing]).open
    assert not follow([closing, panel_drawn()]).open
    assert not follow([panel_drawn(score_by=None)]).open  # no deadline: no timers


def panel(app_id: str, *experts: str, score_by: date = SCORE_BY, round_id: str = "R1") -> ExpertPanel:
    found = panel_after(None, panel_drawn(app_id, experts, score_by, round_id), f"平台{app_id}")
    assert found is not None
    return found


def test_each_expert_is_reminded_once_per_window_of_all_their_unscored_assignments() -> None:
    panels = [panel("A1", "E001", "E002"), panel("A2", "E001"), followed([scored("E001", "A3")], panel("A3", "E001"))]
    assert scoring_due(SCORE_BY - timedelta(days=4), panels, [3, 1]) == []
    first, second = scoring_due(SCORE_BY - timedelta(days=3), panels, [3, 1])
    assert (first.kind, first.recipient, first.audience, first.window) == (
        TimerKind.REMINDER, "E001", Audience.EXPERT, 3)
    assert (first.id, second.id) == ("reminder:scoring:R1:E001:2026-12-07:3d", "reminder:scoring:R1:E002:2026-12-07:3d")
    facts = first.notice().facts
    assert (facts["count"], facts["items"], facts["remaining"]) == ("2", "“平台A1”、“平台A2”", "还剩3天")
    [last, _] = scoring_due(SCORE_BY, panels, [3, 1])
    assert last.id.endswith(":1d") and last.notice().facts["remaining"] == "今天截止"


def test_the_day_after_the_deadline_the_province_is_told_of_every_unscored_assignment_once() -> None:
    panels = [panel("A1", "E001", "E002"), followed([scored("E001", "A2")], panel("A2", "E001", "E003")),
              panel("A3", "E009", score_by=SCORE_BY + timedelta(days=7)),  # drawn later: not late yet
              panel("B1", "E001", round_id="R2")]
    timers = scoring_due(SCORE_BY + timedelta(days=1), panels, [3, 1])
    assert [(t.kind, t.id, t.recipient) for t in timers] == [
        (TimerKind.ESCALATION, "escalation:scoring:R1:2026-12-07", PROVINCE),
        (TimerKind.ESCALATION, "escalation:scoring:R2:2026-12-07", PROVINCE)]
    facts = timers[0].notice().facts
    assert (facts["count"], facts["panels"], facts["overdue_days"]) == ("3", "2", "1")
    assert facts["items"] == "“平台A1”（E001、E002）；“平台A2”（E003）"
    assert {t.id for t in scoring_due(SCORE_BY + timedelta(days=6), panels, [3, 1])} == {
        "escalation:scoring:R1:2026-12-07", "escalation:scoring:R2:2026-12-07",
        "reminder:scoring:R1:E009:2026-12-14:1d"}  # the same ids: they fire once


@given(st.integers(min_value=-20, max_value=20), st.lists(st.integers(min_value=0, max_value=15), max_size=3))
def test_scoring_reminders_come_only_before_and_escalation_only_after_the_last_day(
    offset: int, days_before: list[int]
) -> None:
    today = SCORE_BY + timedelta(days=offset)
    timers = scoring_due(today, [panel("A1", "E001", "E002")], sorted(set(days_before), reverse=True))
    kinds = {t.kind for t in timers}
    assert kinds <= ({TimerKind.ESCALATION} if offset > 0 else {TimerKind.REMINDER})
    assert len([t for t in timers if t.kind is TimerKind.ESCALATION]) == (1 if offset > 0 else 0)


# ---- the end of publicity --------------------------------------------------------------------------------


def window_of(make_dossier: Callable[..., Dossier], *events: Event) -> PublicityWindow:
    found = None
    for event in (publicity_opened(make_dossier()), *events):
        found = publicity_after(found, event)
    assert found is not None
    return found


def test_the_province_is_reminded_before_publicity_ends_with_the_objections_still_pending(
    make_dossier: Callable[..., Dossier]
) -> None:
    w = window_of(make_dossier, objection_filed("OBJ-1"), objection_filed("OBJ-2"), objection_resolved())
    assert w.pending == 1
    [timer] = publicity_due(ENDS_ON - timedelta(days=3), [w], [3, 1])
    assert (timer.id, timer.recipient) == ("reminder:publicity:R1:2026-12-04:3d", PROVINCE)
    assert timer.notice().facts["objections"] == "尚有1件异议待处理"
    assert publicity_due(ENDS_ON - timedelta(days=4), [w], [3, 1]) == []


def test_once_publicity_has_ended_the_province_is_told_it_can_close_after_resolving_objections(
    make_dossier: Callable[..., Dossier]
) -> None:
    pending = window_of(make_dossier, objection_filed())
    [timer] = publicity_due(ENDS_ON + timedelta(days=1), [pending], [3, 1])
    assert (timer.kind, timer.id) == (TimerKind.ESCALATION, "escalation:publicity:R1:2026-12-04")
    assert timer.notice().facts["next_step"] == "请先处理异议，再结束公示"
    resolved = publicity_after(pending, objection_resolved())
    assert resolved is not None
    [later] = publicity_due(ENDS_ON + timedelta(days=2), [resolved], [3, 1])
    assert later.notice().facts["next_step"] == "可以结束公示"


def test_closing_publicity_cancels_its_timers_and_events_in_any_order_give_one_window(
    make_dossier: Callable[..., Dossier]
) -> None:
    closed = window_of(make_dossier, publicity_closed())
    assert not closed.open and publicity_due(ENDS_ON, [closed], [3, 1]) == []
    early = publicity_after(publicity_after(None, objection_resolved()), objection_filed())  # before it opened
    assert early is not None and not early.open
    late = publicity_after(early, publicity_opened(make_dossier()))
    assert late is not None and late.open and (late.filed, late.pending) == (["OBJ-1"], 0)


# ---- annual reports ----------------------------------------------------------------------------------------


def platform_of(make_dossier: Callable[..., Dossier], *events: Event, on: date = date(2026, 12, 7)) -> Platform:
    d = make_dossier()
    found = None
    for event in (decided(d), listed(d, on=on), *events):
        found = platform_after(found, event)
    assert found is not None
    return found


def test_the_first_report_covers_the_year_of_accreditation_and_is_due_on_31_march_next_year(
    make_dossier: Callable[..., Dossier]
) -> None:
    p = platform_of(make_dossier)
    assert p.active and report_due(2026, (3, 31)) == date(2027, 3, 31)
    assert annual_reports_due(date(2027, 2, 28), [p], (3, 31), [30, 7]) == []
    [timer] = annual_reports_due(date(2027, 3, 1), [p], (3, 31), [30, 7])
    assert (timer.id, timer.recipient, timer.audience) == (
        "reminder:annual_report:P-A1:2026:2027-03-31:30d", p.applicant_credit_code, Audience.APPLICANT)
    assert timer.application_id == "A1" and timer.notice().application_id == "A1"  # its contact: the dossier's
    assert annual_reports_due(date(2027, 3, 24), [p], (3, 31), [30, 7])[0].id.endswith(":7d")


def test_an_unfiled_report_escalates_to_the_province_once_per_year_and_the_next_year_is_reminded(
    make_dossier: Callable[..., Dossier]
) -> None:
    p = platform_of(make_dossier)
    [late] = annual_reports_due(date(2027, 4, 1), [p], (3, 31), [30, 7])
    assert (late.kind, late.id, late.recipient) == (TimerKind.ESCALATION, "escalation:annual_report:2026:2027-03-31",
                                                    PROVINCE)
    assert late.notice().facts["count"] == "1"
    ids = {t.id for t in annual_reports_due(date(2028, 3, 25), [p], (3, 31), [30, 7])}
    assert ids == {"escalation:annual_report:2026:2027-03-31", "reminder:annual_report:P-A1:2027:2028-03-31:7d"}


def test_a_filed_report_cancels_its_year_and_revocation_cancels_every_later_one(
    make_dossier: Callable[..., Dossier]
) -> None:
    filed = platform_of(make_dossier, report_filed(2026))
    assert annual_reports_due(date(2027, 4, 1), [filed], (3, 31), [30, 7]) == []
    assert [t.id for t in annual_reports_due(date(2028, 3, 1), [filed], (3, 31), [30, 7])] == [
        "reminder:annual_report:P-A1:2027:2028-03-31:30d"]
    gone = platform_after(filed, revoked())
    assert gone is not None and not gone.active
    assert annual_reports_due(date(2028, 3, 1), [gone], (3, 31), [30, 7]) == []


def test_a_cultivation_object_owes_no_annual_report_and_a_configured_due_day_moves_the_timers(
    make_dossier: Callable[..., Dossier]
) -> None:
    from zhongshi_contracts.registry import PlatformCultivationListed

    d = make_dossier()
    cultivated = platform_after(platform_after(None, decided(d, "cultivate")), listed(d, PlatformCultivationListed))
    assert cultivated is not None and not cultivated.active
    p = platform_of(make_dossier)
    assert [t.id for t in annual_reports_due(date(2027, 4, 23), [p], (4, 30), [7])] == [
        "reminder:annual_report:P-A1:2026:2027-04-30:7d"]


def test_a_report_filed_before_the_accreditation_arrives_is_kept(make_dossier: Callable[..., Dossier]) -> None:
    d = make_dossier()
    p = platform_after(platform_after(None, report_filed(2026)), listed(d))
    assert p is not None and p.active and p.reports_filed == [2026] and p.applicant_credit_code


# ---- a warning's rectification deadline ----------------------------------------------------------------


def test_a_warned_platform_is_reminded_before_its_rectification_day_and_the_province_told_after(
    make_dossier: Callable[..., Dossier]
) -> None:
    p = platform_of(make_dossier, warned(date(2027, 9, 30)))
    assert (p.rectify_by, p.warned_year) == (date(2027, 9, 30), 2026)
    assert rectifications_due(date(2027, 8, 30), [p], [30, 7]) == []
    [soon] = rectifications_due(date(2027, 8, 31), [p], [30, 7])
    assert (soon.id, soon.recipient, soon.audience, soon.application_id) == (
        "reminder:rectification:P-A1:2027-09-30:30d", p.applicant_credit_code, Audience.APPLICANT, "A1")
    assert soon.notice().facts["remaining"] == "还剩30天" and soon.notice().facts["year"] == "2026"
    assert rectifications_due(date(2027, 9, 30), [p], [30, 7])[0].id.endswith(":7d")  # the last day: still 7d
    [late] = rectifications_due(date(2027, 10, 1), [p], [30, 7])
    assert (late.kind, late.id, late.recipient) == (TimerKind.ESCALATION,
                                                    "escalation:rectification:P-A1:2027-09-30", PROVINCE)
    assert late.notice().facts["overdue_days"] == "1"


def test_a_confirmation_lifts_the_warning_and_revocation_ends_it(make_dossier: Callable[..., Dossier]) -> None:
    lifted = platform_of(make_dossier, warned(), standing_confirmed(2026).model_copy(
        update={"confirmed_at": warned().warned_at + timedelta(days=30)}))
    assert lifted.rectify_by is None and rectifications_due(date(2027, 10, 1), [lifted], [30, 7]) == []
    gone = platform_of(make_dossier, warned(), revoked())
    assert rectifications_due(date(2027, 10, 1), [gone], [30, 7]) == []
    assert rectifications_due(date(2027, 10, 1), [platform_of(make_dossier)], [30, 7]) == []  # never warned


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_the_evaluation_given_last_wins_whatever_order_the_two_topics_arrive_in(
    make_dossier: Callable[..., Dossier], order: tuple[int, ...]
) -> None:
    """warned (day 0) → confirmed (day 30) → warned again with a new deadline (day 60): the last stands."""
    start = warned().warned_at
    given = [warned(date(2027, 9, 30)),
             standing_confirmed(2026).model_copy(update={"confirmed_at": start + timedelta(days=30)}),
             warned(date(2028, 1, 31)).model_copy(update={"warned_at": start + timedelta(days=60)})]
    p = platform_of(make_dossier, *(given[i] for i in order))
    assert p.rectify_by == date(2028, 1, 31)
    assert [t.id for t in rectifications_due(date(2027, 10, 1), [p], [30, 7])] == []
    only_lifted = platform_of(make_dossier, *(given[i] for i in order if i < 2))
    assert only_lifted.rectify_by is None


# ---- the objector's address, and what outside systems never see ------------------------------------------------


@pytest.mark.parametrize(("reply_to", "expected"), [
    ("13800001111", Contact(phone="13800001111")),
    ("+86 138-0000-1111", Contact(phone="13800001111")),
    (" zhang.san@example.cn ", Contact(email="zhang.san@example.cn")),
    ("027-87654321", None),  # a landline: no channel reaches it
    ("", None),
])
def test_an_objector_is_answered_by_sms_at_a_mobile_number_and_by_e_mail_at_an_address(
    reply_to: str, expected: Contact | None
) -> None:
    assert reply_contact(reply_to) == expected


@pytest.mark.parametrize("reply_to", [OBJECTOR_PHONE, OBJECTOR_EMAIL])
def test_a_webhook_never_carries_the_objectors_contact(reply_to: str) -> None:
    event = objection_resolved(upheld=True, reply_to=reply_to, reason=f"异议人来电{OBJECTOR_PHONE}补充了材料")
    assert "reply_to" not in webhook_data(event)[1]
    payload = webhook_payload(meta(event, "ev-9"), event)
    data = json.loads(payload)["data"]
    assert reply_to not in payload and OBJECTOR_PHONE not in payload and "138****1111" in data["reason"]
    assert (data["objection_id"], data["objected_application_id"], data["upheld"]) == ("OBJ-1", "A1", True)
