"""The message templates: one per event type, audience and channel; each renders with the facts it is given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from zhongshi_contracts.dossier import Dossier
from zhongshi_notify.deadlines import annual_reports_due, publicity_due, rectifications_due, scoring_due
from zhongshi_notify.domain import Notice
from zhongshi_notify.notices import NOTIFIED_EVENTS, notices
from zhongshi_notify.planning import HUMAN_CHANNELS, Channel
from zhongshi_notify.reminders import due
from zhongshi_notify.templates import Templates
from zhongshi_notify.tracking import Platform, panel_after, platform_after, publicity_after

from .samples import (
    ENDS_ON,
    SCORE_BY,
    decided,
    listed,
    objection_filed,
    objection_resolved,
    one_of_each,
    panel_drawn,
    publicity_opened,
    screened,
    submitted,
    warned,
    withdrawn,
)
from .test_reminders import DEADLINE, ROUND, case

TEMPLATES = Templates.load()


def outcome(d: Dossier) -> Platform:
    """What notify knows of A1 once it was decided and accredited."""
    known = platform_after(platform_after(None, decided(d)), listed(d))
    assert known is not None
    return known


def every_notice(d: Dossier) -> list[Notice]:
    """The notices of one event of every type, with and without a case before, plus the timers."""
    known = outcome(d)
    events = [*one_of_each(d), objection_resolved(upheld=True)]
    found = [n for e in events for n in notices(e, None, {"county_review": date(2026, 12, 1)}, known)]
    from zhongshi_notify.domain import Stage, advance

    in_queue = advance(None, screened(d))
    found += notices(withdrawn(d), in_queue, {})
    assert in_queue is not None and in_queue.stage is Stage.COUNTY_REVIEW
    for day in (DEADLINE, date(2026, 12, 11)):
        found += [t.notice() for t in due(day, ROUND, [case("a")], [3, 1])]
    panel = panel_after(None, panel_drawn(), d.platform.name)
    window = publicity_after(publicity_after(None, publicity_opened(d)), objection_filed())
    assert panel is not None and window is not None
    for day in (SCORE_BY, SCORE_BY + timedelta(days=1)):
        found += [t.notice() for t in scoring_due(day, [panel], [3, 1])]
    for day in (ENDS_ON, ENDS_ON + timedelta(days=1)):
        found += [t.notice() for t in publicity_due(day, [window], [3, 1])]
    for day in (date(2027, 3, 31), date(2027, 4, 1)):
        found += [t.notice() for t in annual_reports_due(day, [known], (3, 31), [30, 7])]
    on_warning = platform_after(known, warned(date(2027, 9, 30)))
    assert on_warning is not None
    for day in (date(2027, 9, 30), date(2027, 10, 1)):
        found += [t.notice() for t in rectifications_due(day, [on_warning], [30, 7])]
    return found


def test_every_consumed_event_type_has_a_template_on_every_channel() -> None:
    kinds = {kind for kind, _ in TEMPLATES.keys}
    for model in NOTIFIED_EVENTS:
        prefix = model.topic.name.removeprefix("pilot.")
        for channel in HUMAN_CHANNELS:
            assert any(k.startswith(prefix + ".") and (k, channel) in TEMPLATES.keys for k in kinds), (prefix, channel)


def test_every_template_kind_exists_on_all_three_channels_and_nothing_else() -> None:
    kinds = {kind for kind, _ in TEMPLATES.keys}
    assert TEMPLATES.keys == {(k, c) for k in kinds for c in HUMAN_CHANNELS}
    assert len(kinds) == 35


def test_every_planned_notice_renders_on_every_channel_without_a_missing_fact(
    make_dossier: Callable[..., Dossier]
) -> None:
    planned = every_notice(make_dossier())
    kinds = {kind for kind, _ in TEMPLATES.keys}
    assert {n.template for n in planned} == kinds  # every template is used by some notice
    for notice in planned:
        for channel in HUMAN_CHANNELS:
            title, body = TEMPLATES.render(notice.template, channel, notice.facts)
            assert body and "$" not in title + body, (notice.template, channel)
            assert (title != "") is (channel is not Channel.SMS)


def test_sms_texts_are_one_short_line(make_dossier: Callable[..., Dossier]) -> None:
    for notice in every_notice(make_dossier()):
        _, text = TEMPLATES.render(notice.template, Channel.SMS, notice.facts)
        assert "\n" not in text and text.startswith("【湖北中试平台】") and len(text) <= 140, text


def test_the_titles_the_pipeline_relies_on(make_dossier: Callable[..., Dossier]) -> None:
    d = make_dossier()
    [withdrawal] = notices(withdrawn(d), None, {})
    assert TEMPLATES.render(withdrawal.template, Channel.INBOX, withdrawal.facts).title == "申报已撤回"
    screening = notices(screened(d), None, {})[0]
    assert "形式审查结果" in TEMPLATES.render(screening.template, Channel.INBOX, screening.facts).title
    [received] = notices(submitted(d), None, {})
    title, body = TEMPLATES.render(received.template, Channel.EMAIL, received.facts)
    assert title == f"【湖北省中试平台认定】已收到“{d.platform.name}”的申报" and "A1" in body


def test_a_missing_fact_is_an_error_not_a_hole() -> None:
    with pytest.raises(KeyError, match="platform_name"):
        TEMPLATES.render("application.submitted.applicant", Channel.INBOX, {"application_id": "A1"})
    with pytest.raises(ValueError, match="webhook"):
        TEMPLATES.render("application.submitted.applicant", Channel.WEBHOOK, {})
    assert TEMPLATES.placeholders("reminder.official", Channel.SMS) >= {"round_id", "stage", "deadline"}
