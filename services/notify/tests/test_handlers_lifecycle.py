"""After the chain, on TestKafkaBroker with in-memory fakes: objectors and applicants told of resolved
objections, the yearly standing, and the scoring, publicity, annual-report and rectification timers, each firing
once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from faststream.kafka import TestKafkaBroker
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import Event
from zhongshi_notify import handlers
from zhongshi_notify.planning import Channel, Contact, Subscription
from zhongshi_runtime.testing import envelope

from .samples import (
    ENDS_ON,
    NOW,
    OBJECTOR_EMAIL,
    OBJECTOR_PHONE,
    SCORE_BY,
    decided,
    declined,
    listed,
    objection_filed,
    objection_resolved,
    panel_drawn,
    publicity_closed,
    publicity_opened,
    report_filed,
    revoked,
    scored,
    standing_confirmed,
    submitted,
    warned,
)
from .test_handlers import NotifyHarness, inbox_of, new_harness


@pytest.fixture
def harness() -> NotifyHarness:
    return new_harness()


async def publish(h: NotifyHarness, *events: Event) -> None:
    async with TestKafkaBroker(h.ready()) as broker:
        for event in events:
            await broker.publish(**envelope(event))
    assert h.dead_letters == []


async def fire_on(h: NotifyHarness, day: date) -> list[str]:
    """Fire what is due on ``day``; return the titles of the inbox messages the timers wrote."""
    before = set(h.repo.messages)
    h.clock.now = NOW.replace(year=day.year, month=day.month, day=day.day)
    await handlers.fire_due_timers(h.uow, h.planner, h.notify_metrics, [3, 1], report_days_before=[30, 7])
    return sorted(f"{m.recipient.partition(':')[2]}: {m.title}" for k, m in h.repo.messages.items() if k not in before)


def reminders(h: NotifyHarness, kind: str, deadline: str) -> float:
    value = h.metrics.registry.get_sample_value("zhongshi_notify_reminders_total", {"kind": kind, "deadline": deadline})
    return value or 0.0


# ---- objections ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("reply_to", "channel"), [(OBJECTOR_PHONE, Channel.SMS), (OBJECTOR_EMAIL, Channel.EMAIL)])
async def test_the_objector_is_told_the_outcome_at_the_address_they_left(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier], reply_to: str, channel: Channel
) -> None:
    d = make_dossier()
    await publish(harness, submitted(d), decided(d), objection_resolved(reply_to=reply_to))
    [out] = [o for o in await harness.store.deliveries() if o.recipient == "OBJ-1"]
    assert (out.channel, out.address, out.kind) == (channel, reply_to, "publicity.objection-resolved.objector")
    assert "异议不成立" in out.body and "维持原公示结果" in out.body and d.platform.name in out.body
    [record] = await inbox_of(harness, "public:OBJ-1")  # the record of what was said: nobody's inbox to read
    assert record.application_id == "A1" and reply_to not in record.body
    assert await inbox_of(harness, d.applicant.credit_code) == [m for m in await inbox_of(
        harness, d.applicant.credit_code) if "异议" not in m.title]  # a dismissal changes nothing for the applicant


async def test_an_upheld_objection_tells_the_applicant_its_decision_changes(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    await publish(harness, submitted(d), decided(d),
                  objection_resolved(upheld=True, reason="经核查，所报成果转化项目为关联方内部转让，异议成立。"))
    [told] = [m for m in await inbox_of(harness, d.applicant.credit_code) if "异议" in m.title]
    assert told.title == f"公示异议成立：“{d.platform.name}”的评审结果将调整"
    assert "“拟认定为省级制造业中试平台”将调整为“未通过”" in told.body and "关联方内部转让" in told.body
    mine = sorted((o.recipient, o.channel, o.address) for o in await harness.store.deliveries()
                  if o.kind.startswith("publicity."))
    assert mine == [(d.applicant.credit_code, Channel.EMAIL, "pilot0@example.cn"),  # the dossier's contact
                    (d.applicant.credit_code, Channel.SMS, "13802710000"),
                    ("OBJ-1", Channel.SMS, OBJECTOR_PHONE)]


async def test_a_landline_reaches_nobody_but_the_record_and_webhooks_never_carry_it(harness: NotifyHarness) -> None:
    harness.store.subs["wh"] = Subscription(id="wh", url="http://x", secret="s", created_at=NOW,
                                            event_types=["pilot.publicity.objection-resolved"])
    await publish(harness, objection_resolved(reply_to="027-87654321"))
    [hook] = await harness.store.deliveries()
    assert hook.channel is Channel.WEBHOOK and "027-87654321" not in hook.body
    assert "reply_to" not in json.loads(hook.body)["data"]
    assert [m.recipient for m in harness.repo.messages.values()] == ["public:OBJ-1"]


# ---- standing, warning, revocation ----------------------------------------------------------------------


async def test_the_yearly_evaluation_reaches_the_applicant_through_what_notify_knows_of_its_platform(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    await harness.repo.set_directory_entry("42", Contact(email="kjc@hbeitc.gov.cn"))
    await publish(harness, submitted(d), decided(d), listed(d), standing_confirmed(), warned(), revoked())
    titles = [m.title for m in await inbox_of(harness, d.applicant.credit_code)]
    name = d.platform.name
    assert {f"“{name}”2026年度评价合格", f"限期整改：“{name}”2026年度评价",
            f"“{name}”的省级制造业中试平台认定已撤销"} <= set(titles)
    [warning] = [o for o in await harness.store.deliveries() if o.kind == "platform.warned.applicant"
                 and o.channel is Channel.SMS]
    assert "2027年9月30日前完成整改" in warning.body and warning.address == "13802710000"


async def test_a_platform_notify_never_saw_accredited_addresses_nobody(harness: NotifyHarness) -> None:
    await publish(harness, standing_confirmed(), warned(None), revoked())
    assert harness.repo.messages == {}


# ---- scoring ---------------------------------------------------------------------------------------------


async def test_experts_are_reminded_and_the_province_told_of_unscored_assignments_once(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    await harness.repo.set_directory_entry("expert:E002", Contact(email="e002@hust.edu.cn"))
    await publish(harness, panel_drawn(experts=("E001", "E002", "E004")), scored("E001"),
                  declined("E003", expert="E004"))
    [drawn] = [m for m in await inbox_of(harness, "E002") if m.title.startswith("评审任务")]
    assert "于2026年12月7日前完成评分" in drawn.body  # the deadline the panel was drawn with
    assert await fire_on(harness, SCORE_BY - timedelta(days=4)) == []
    assert await fire_on(harness, SCORE_BY - timedelta(days=3)) == [
        "E002: 评分提醒：评审任务将于2026年12月7日截止", "E003: 评分提醒：评审任务将于2026年12月7日截止"]
    assert await fire_on(harness, SCORE_BY - timedelta(days=2)) == []  # the same window: fired already
    await publish(harness, scored("E003"))
    assert await fire_on(harness, SCORE_BY) == ["E002: 评分提醒：评审任务将于2026年12月7日截止"]
    assert await fire_on(harness, SCORE_BY + timedelta(days=1)) == ["42: 逾期督办：批次R1专家评分逾期"]
    assert await fire_on(harness, SCORE_BY + timedelta(days=2)) == []
    [escalation] = [m for m in await inbox_of(harness, "42") if m.event_type == "notify.escalation"]
    assert "仍有1项评审任务未评分" in escalation.body and "（E002）" in escalation.body
    mails = [(o.recipient, o.channel, o.address) for o in await harness.store.deliveries()
             if o.kind == "reminder.scoring.expert"]
    assert mails == [("E002", Channel.EMAIL, "e002@hust.edu.cn")] * 2  # 3 days and 1 day before; E003 has no address
    assert (reminders(harness, "reminder", "scoring"), reminders(harness, "escalation", "scoring")) == (3, 1)


async def test_the_decision_cancels_the_scoring_timers(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    await publish(harness, panel_drawn(), decided(make_dossier()))
    assert await fire_on(harness, SCORE_BY) == [] and await fire_on(harness, SCORE_BY + timedelta(days=1)) == []


# ---- publicity ---------------------------------------------------------------------------------------------


async def test_the_province_is_reminded_before_publicity_ends_and_told_after_until_it_is_closed(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    await publish(harness, publicity_opened(make_dossier()), objection_filed())
    assert await fire_on(harness, ENDS_ON - timedelta(days=1)) == ["42: 公示提醒：批次R1公示将于2026年12月4日结束"]
    assert await fire_on(harness, ENDS_ON + timedelta(days=1)) == ["42: 公示期已届满：批次R1可结束公示"]
    [told] = [m for m in await inbox_of(harness, "42") if m.title.startswith("公示期已届满")]
    assert "尚有1件异议待处理，请先处理异议，再结束公示" in told.body
    await publish(harness, objection_resolved(), publicity_closed())
    assert await fire_on(harness, ENDS_ON + timedelta(days=2)) == []
    assert reminders(harness, "escalation", "publicity") == 1


async def test_closing_publicity_before_its_reminders_cancels_them(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    await publish(harness, publicity_opened(make_dossier()), publicity_closed())
    assert await fire_on(harness, ENDS_ON) == [] and await fire_on(harness, ENDS_ON + timedelta(days=1)) == []


# ---- annual reports ----------------------------------------------------------------------------------------


async def test_the_annual_report_is_reminded_to_the_applicant_and_escalated_when_overdue(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    await publish(harness, submitted(d), decided(d), listed(d))
    code = d.applicant.credit_code
    assert await fire_on(harness, date(2027, 3, 1)) == [f"{code}: 年度报告提醒：请于2027年3月31日前报送2026年度报告"]
    assert await fire_on(harness, date(2027, 3, 2)) == []
    [text] = [o for o in await harness.store.deliveries() if o.kind == "reminder.annual-report.applicant"
              and o.channel is Channel.SMS]
    assert text.address == "13802710000"  # the applicant's contact from its dossier
    assert await fire_on(harness, date(2027, 3, 24)) == [f"{code}: 年度报告提醒：请于2027年3月31日前报送2026年度报告"]
    assert await fire_on(harness, date(2027, 4, 1)) == ["42: 逾期督办：1个平台未报送2026年度报告"]
    await publish(harness, report_filed(2026))
    assert await fire_on(harness, date(2028, 3, 1)) == [f"{code}: 年度报告提醒：请于2028年3月31日前报送2027年度报告"]
    sent = (reminders(harness, "reminder", "annual_report"), reminders(harness, "escalation", "annual_report"))
    assert sent == (3, 1)


async def test_a_filed_report_and_a_revocation_cancel_the_annual_report_timers(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    await publish(harness, decided(d), listed(d), report_filed(2026))
    assert await fire_on(harness, date(2027, 3, 1)) == [] and await fire_on(harness, date(2027, 4, 1)) == []
    await publish(harness, revoked())
    assert await fire_on(harness, date(2028, 3, 1)) == [] and await fire_on(harness, date(2028, 4, 1)) == []


# ---- rectification -----------------------------------------------------------------------------------------


async def test_a_warned_platform_is_reminded_to_rectify_and_the_province_told_when_the_day_passes(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    await publish(harness, submitted(d), decided(d), listed(d), report_filed(2026), warned(date(2027, 9, 30)))
    code, name = d.applicant.credit_code, d.platform.name
    assert await fire_on(harness, date(2027, 8, 30)) == []
    assert await fire_on(harness, date(2027, 8, 31)) == [f"{code}: 整改提醒：请于2027年9月30日前完成整改"]
    assert await fire_on(harness, date(2027, 9, 1)) == []  # the same window: fired already
    [text] = [o for o in await harness.store.deliveries() if o.kind == "reminder.rectification.applicant"
              and o.channel is Channel.SMS]
    assert text.address == "13802710000" and "还剩30天" in text.body
    assert await fire_on(harness, date(2027, 9, 23)) == [f"{code}: 整改提醒：请于2027年9月30日前完成整改"]
    assert await fire_on(harness, date(2027, 10, 1)) == [f"42: 整改到期：“{name}”2026年度限期整改已到期"]
    assert await fire_on(harness, date(2027, 10, 2)) == []
    sent = (reminders(harness, "reminder", "rectification"), reminders(harness, "escalation", "rectification"))
    assert sent == (2, 1)


async def test_a_confirmation_after_the_warning_cancels_its_rectification_timers(
    harness: NotifyHarness, make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    later = standing_confirmed(2026).model_copy(update={"confirmed_at": NOW + timedelta(days=30)})
    await publish(harness, decided(d), listed(d), report_filed(2026), later, warned(date(2027, 9, 30)))
    assert await fire_on(harness, date(2027, 8, 31)) == [] and await fire_on(harness, date(2027, 10, 1)) == []
