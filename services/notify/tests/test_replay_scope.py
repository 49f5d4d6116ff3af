"""What notify's replay may find in the rebuild alone: an official's queue notice, which the live service skips
when a later step of the application reached it first; never an applicant's notice or another kind."""

from __future__ import annotations

import pytest
from zhongshi_notify.replay import skipped_queue_notice

SCREENED = "cn.gov.hubei.pilot.application.screened.v1"


@pytest.mark.parametrize(("recipient", "event_type", "skippable"), [
    ("420111", SCREENED, True),
    ("420100", "cn.gov.hubei.pilot.application.recommended.v1", True),
    ("42", "cn.gov.hubei.pilot.application.forwarded.v2", True),
    ("91420111MA0000000W", SCREENED, False),
    ("420100", "cn.gov.hubei.pilot.application.exception-decided.v1", False),
    ("E-0007", "cn.gov.hubei.pilot.review.panel-drawn.v1", False),
])
def test_only_an_officials_queue_notice_may_be_missing_from_the_live_inbox(recipient: str, event_type: str,
                                                                         skippable: bool) -> None:
    assert skipped_queue_notice({"recipient": recipient, "event_type": event_type}) is skippable
