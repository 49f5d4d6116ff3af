"""What notify's replay may find different in the live inbox: an official's queue notice on one side only (it
follows the order the application's events arrived in; never an applicant's notice or another kind), and a
deadline the live notice did not know yet (never another change); a contact blanked past its retention period
(never another submission's)."""

from __future__ import annotations

from typing import Any

import pytest
from zhongshi_notify.app import ERASED
from zhongshi_notify.domain import Audience, reader
from zhongshi_notify.replay import contact_erased, deadline_not_yet_known, queue_notice

SCREENED = "cn.gov.hubei.pilot.application.screened.v1"


@pytest.mark.parametrize(("audience", "code", "event_type", "one_sided"), [
    (Audience.OFFICIAL, "420111", SCREENED, True),
    (Audience.OFFICIAL, "420100", "cn.gov.hubei.pilot.application.recommended.v1", True),
    (Audience.OFFICIAL, "42", "cn.gov.hubei.pilot.application.forwarded.v2", True),
    (Audience.OFFICIAL, "420100", "cn.gov.hubei.pilot.application.withdrawn.v1", True),  # told to the city, not 42
    (Audience.APPLICANT, "91420111MA0000000W", SCREENED, False),
    (Audience.OFFICIAL, "420100", "cn.gov.hubei.pilot.application.exception-decided.v1", False),
    (Audience.EXPERT, "420100", SCREENED, False),  # an expert whose id looks like a department's code
    (Audience.EXPERT, "E-0007", "cn.gov.hubei.pilot.review.panel-drawn.v1", False),
])
def test_only_an_officials_queue_notice_may_be_on_one_side_only(audience: Audience, code: str, event_type: str,
                                                               one_sided: bool) -> None:
    message = {"recipient": reader(audience, code), "event_type": event_type}  # as the planner stores it
    assert queue_notice(message) is one_sided


LIVE = {"recipient": reader(Audience.OFFICIAL, "420100"), "event_type": "cn.gov.hubei.pilot.application.recommended.v1",
        "body": "……已进入贵单位市州推荐队列。公示期至2026年12月20日。\n请于批次规定期限前在推荐指标内完成推荐。"}


@pytest.mark.parametrize(("rebuilt_body", "excused"), [
    ("……已进入贵单位市州推荐队列。公示期至2026年12月20日。\n请于2026年12月25日前在推荐指标内完成推荐。", True),
    (LIVE["body"], False),  # the same: nothing to excuse (and no difference either)
    ("……已进入贵单位市州推荐队列。公示期至2026年12月21日。\n请于2026年12月25日前在推荐指标内完成推荐。", False),
    ("……已进入贵单位区县推荐队列。公示期至2026年12月20日。\n请于2026年12月25日前在推荐指标内完成推荐。", False),
])
def test_only_a_deadline_the_live_notice_did_not_know_yet_may_differ(rebuilt_body: str, excused: bool) -> None:
    assert deadline_not_yet_known(LIVE, {**LIVE, "body": rebuilt_body}) is excused


def test_a_live_notice_that_names_another_day_is_a_difference() -> None:
    live = {**LIVE, "body": LIVE["body"].replace("批次规定期限", "2026年12月24日")}
    assert not deadline_not_yet_known(live, {**LIVE, "body": LIVE["body"].replace("批次规定期限", "2026年12月25日")})


CONTACT: dict[str, Any] = {"_id": "A1", "application_id": "A1", "revision": 2,
                           "contact": {"name": "张工", "email": "pilot0@example.cn", "phone": "13802710000"}}


@pytest.mark.parametrize(("live", "excused"), [
    ({**CONTACT, **ERASED}, True),
    ({**CONTACT, **ERASED, "revision": 1}, False),  # blanked, but the rebuild found a later submission
    ({**CONTACT, "contact": {**CONTACT["contact"], "phone": "13900000000"}}, False),  # not erased: a difference
])
def test_only_a_contact_blanked_past_its_period_may_differ_from_the_rebuilt_one(live: dict[str, object],
                                                                               excused: bool) -> None:
    assert contact_erased(live, CONTACT) is excused
