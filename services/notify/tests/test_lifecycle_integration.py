"""After the chain, on a real MongoDB with a real SMTP server, a local SMS gateway and a local webhook receiver:
objectors answered at the address they left (never in logs or webhooks in clear), the applicant told when an
objection is upheld, and the scoring, publicity and annual-report timers firing once across a restart."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import pytest
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.projections import public_event_id
from zhongshi_notify import handlers
from zhongshi_notify.channels import SmsSender, WebhookSender
from zhongshi_notify.egress import EgressGuard
from zhongshi_notify.planning import Channel, Contact

from .conftest import Mailbox, Receiver
from .samples import (
    ENDS_ON,
    OBJECTOR_EMAIL,
    OBJECTOR_PHONE,
    SCORE_BY,
    Clock,
    decided,
    listed,
    objection_filed,
    objection_resolved,
    panel_drawn,
    publicity_closed,
    publicity_opened,
    report_filed,
    scored,
    submitted,
)
from .test_delivery_integration import LOG, TOKEN, Notify, email_sender, until_sent

pytestmark = pytest.mark.integration


async def test_objectors_are_answered_by_text_or_e_mail_and_their_contact_stays_out_of_logs_and_webhooks(
    mongo_db: Any, make_dossier: Callable[..., Dossier], smtp_server: tuple[int, Mailbox],
    http_receiver: Callable[..., Awaitable[Receiver]], caplog: pytest.LogCaptureFixture
) -> None:
    notify = Notify(mongo_db, list(Channel))
    await notify.repo.ensure_indexes()
    await notify.store.ensure_indexes()
    port, mailbox = smtp_server
    gateway = await http_receiver("/sms/send")
    hooks = await http_receiver("/hooks")
    sub = await notify.subscribe(hooks.url, "pilot.publicity.objection-resolved")
    hooks.secret = sub.secret
    d = make_dossier()
    ids = await notify.publish(
        submitted(d), decided(d), objection_resolved(reply_to=OBJECTOR_PHONE, objection_id="OBJ-1"),
        objection_resolved(upheld=True, reply_to=OBJECTOR_EMAIL, objection_id="OBJ-2",
                           reason="经核查，所报成果转化项目为关联方内部转让，异议成立。"))
    dispatcher = notify.dispatcher({Channel.EMAIL: email_sender(port),
                                    Channel.WEBHOOK: WebhookSender(5, guard=EgressGuard(allow_private=True)),
                                    Channel.SMS: SmsSender(url=gateway.url, token=TOKEN)})
    with caplog.at_level(logging.INFO, LOG.name):
        await until_sent(notify, dispatcher, 10)  # applicant 2+2+2, objectors 1+1, webhooks 2

    texts = {t["to"]: t["text"] for t in (json.loads(r.body) for r in gateway.requests)}
    assert f"您对“{d.platform.name}”的异议（OBJ-1）经核查异议不成立，维持原公示结果" in texts[OBJECTOR_PHONE]
    [to_objector] = [m for m in mailbox.messages if m["to"] == OBJECTOR_EMAIL]
    assert to_objector["subject"] == f"【湖北省中试平台认定】异议处理结果：“{d.platform.name}”"
    assert "异议成立，该申报的拟认定结果将调整为“未通过”" in to_objector.get_content()
    [to_applicant] = [m for m in mailbox.messages if "公示异议成立" in m["subject"]]
    assert to_applicant["to"] == "pilot0@example.cn" and "关联方内部转让" in to_applicant.get_content()

    assert sorted(r.headers["webhook-id"] for r in hooks.accepted) == sorted(map(public_event_id, ids[2:]))
    for r in hooks.accepted:
        assert r.verified and "reply_to" not in json.loads(r.body)["data"]
        assert OBJECTOR_PHONE not in r.body.decode() and OBJECTOR_EMAIL not in r.body.decode()
    assert "138****1111" in caplog.text and "z***@example.cn" in caplog.text
    assert OBJECTOR_PHONE not in caplog.text and OBJECTOR_EMAIL not in caplog.text


async def test_scoring_publicity_and_annual_report_timers_fire_once_across_a_restart(
    mongo_db: Any, make_dossier: Callable[..., Dossier]
) -> None:
    clock = Clock()
    before = Notify(mongo_db, [Channel.INBOX, Channel.EMAIL], clock)
    await before.repo.ensure_indexes()
    await before.repo.set_directory_entry("expert:E002", Contact(email="e002@hust.edu.cn"))
    d = make_dossier()
    await before.publish(submitted(d), panel_drawn(experts=("E001", "E002")), scored("E001"),
                         publicity_opened(d), objection_filed(), decided(d, app_id="A9"), listed(d, app_id="A9"))

    async def fire(n: Notify, day: date) -> int:
        clock.now = clock.now.replace(year=day.year, month=day.month, day=day.day)
        return await handlers.fire_due_timers(n.uow, n.planner, n.metrics, [3, 1], report_days_before=[30])

    assert await fire(before, ENDS_ON) == 2  # publicity ends today, scoring in 3 days
    after = Notify(mongo_db, [Channel.INBOX, Channel.EMAIL], clock)  # a restarted notify: nothing in memory
    assert await fire(after, ENDS_ON) == 0
    assert await fire(after, ENDS_ON + timedelta(days=1)) == 1  # publicity has ended: the province may close it
    assert await fire(before, SCORE_BY + timedelta(days=1)) == 1  # the scoring escalation
    await after.publish(publicity_closed())
    assert await fire(after, SCORE_BY + timedelta(days=2)) == 0
    assert await fire(after, date(2027, 3, 1)) == 1 and await fire(before, date(2027, 3, 2)) == 0
    await before.publish(report_filed(2026, app_id="A9"))
    assert await fire(after, date(2027, 4, 1)) == 0  # filed: nothing overdue

    province = [m.title for m in (await after.repo.inbox("official:42"))[1]]
    assert province == ["逾期督办：批次R1专家评分逾期", "公示期已届满：批次R1可结束公示",
                        "公示提醒：批次R1公示将于2026年12月4日结束"]
    expert = [m.title for m in (await after.repo.inbox("expert:E002"))[1]]
    assert expert[:1] == ["评分提醒：评审任务将于2026年12月7日截止"]
    [mail] = [o for o in await after.store.deliveries() if o.kind == "reminder.scoring.expert"]
    assert mail.address == "e002@hust.edu.cn"
    assert [m.title for m in (await after.repo.inbox(f"applicant:{d.applicant.credit_code}"))[1]][:1] == [
        "年度报告提醒：请于2027年3月31日前报送2026年度报告"]
