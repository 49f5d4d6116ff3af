"""Channels, deliveries, webhook payloads and retry rules, pure."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.projections import public_event_id, public_view
from zhongshi_notify.domain import Audience, Notice
from zhongshi_notify.planning import (
    Channel,
    Contact,
    Delivery,
    Preferences,
    Rendered,
    RetryPolicy,
    SendResult,
    Status,
    Subscription,
    after_attempt,
    channels_for,
    http_result,
    mask_address,
    masked,
    plan_notice,
    webhook_data,
    webhook_deliveries,
    webhook_payload,
)

from .samples import NOW, forwarded, meta, submitted

CONTACT = Contact(name="张工", email="pilot0@example.cn", phone="13802710000")
ALL = list(Channel)


def render(kind: str, channel: Channel, facts: Mapping[str, str]) -> Rendered:
    return Rendered(f"{kind}:{channel}", facts["x"])


def delivery(**changes: Any) -> Delivery:
    base = Delivery(id="e1/c/email", source_id="e1", kind="k", channel=Channel.EMAIL, recipient="c",
                    address="a@b.cn", body="b", application_id="A1", created_at=NOW, next_attempt_at=NOW)
    return base.model_copy(update=changes)


@pytest.mark.parametrize(("contact", "prefs", "enabled", "expected"), [
    (CONTACT, Preferences(), ALL, [(Channel.EMAIL, "pilot0@example.cn"), (Channel.SMS, "13802710000")]),
    (CONTACT, Preferences(sms=False), ALL, [(Channel.EMAIL, "pilot0@example.cn")]),
    (CONTACT, Preferences(), [Channel.INBOX, Channel.SMS], [(Channel.SMS, "13802710000")]),  # no SMTP configured
    (Contact(name="科技处", email="k@wh.gov.cn"), Preferences(), ALL, [(Channel.EMAIL, "k@wh.gov.cn")]),
    (None, Preferences(), ALL, []),  # no directory entry: inbox only
])
def test_channels_need_an_address_the_recipients_wish_and_a_configured_channel(
    contact: Contact | None, prefs: Preferences, enabled: list[Channel], expected: list[tuple[Channel, str]]
) -> None:
    assert channels_for(contact, prefs, enabled) == expected


def test_a_notice_is_always_an_inbox_message_and_one_delivery_per_channel() -> None:
    notice = Notice(template="t", recipient="91420111MA0000000W", audience=Audience.APPLICANT, facts={"x": "正文"})
    inbox, out = plan_notice("e1", "ce.type", "A1", notice, CONTACT, Preferences(), ALL, render, NOW)
    assert inbox.id == "e1/91420111MA0000000W/inbox" and inbox.title == "t:inbox" and not inbox.read
    assert [(d.id, d.address, d.title) for d in out] == [
        ("e1/91420111MA0000000W/email", "pilot0@example.cn", "t:email"),
        ("e1/91420111MA0000000W/sms", "13802710000", "t:sms")]
    assert all(d.status is Status.PENDING and d.next_attempt_at == NOW and d.attempts == 0 for d in out)


def test_outside_systems_get_no_contact_details_no_official_ids_and_masked_phones(
    make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    event = forwarded(d)
    payload = json.loads(webhook_payload(meta(event, "ev-1"), event))
    text = json.dumps(payload, ensure_ascii=False)
    assert payload["id"] == public_event_id("ev-1")  # the id its record on the public topic has
    assert payload["type"] == "cn.gov.hubei.pilot.application.forwarded.v2"
    assert payload["specversion"] == "1.0" and payload["datacontenttype"] == "application/json"
    data = payload["data"]
    assert "contact" not in data["dossier"]["applicant"] and "13802710000" not in text and "pilot0@" not in text
    assert data["actor"] == {"role": "city_official", "region_code": "420100"}
    assert data["applicant_credit_code"] == d.applicant.credit_code  # public registry data stays
    assert data["opinion"].endswith("139****5678")


def test_a_webhook_sends_only_the_fields_classified_public_at_any_depth(make_dossier: Callable[..., Dossier]) -> None:
    event = forwarded(make_dossier())
    ce_type, data = webhook_data(event)
    assert ce_type == "cn.gov.hubei.pilot.application.forwarded.v2"
    assert set(data) == set(type(public_view(event)).model_fields)  # every field of the projection is public
    assert all(set(o["actor"]) == {"role", "region_code"} for o in data["opinions"])  # the user id is internal
    assert set(data["dossier"]["applicant"]) == {"name", "credit_code", "legal_person_kind", "region_code"}


def test_masking_walks_lists_and_nested_documents() -> None:
    found = masked({"opinions": [{"text": "电话 13912345678"}], "n": 3})
    assert found == {"opinions": [{"text": "电话 139****5678"}], "n": 3}


def test_webhooks_go_to_subscriptions_of_the_event_type_and_are_held_while_disabled(
    make_dossier: Callable[..., Dossier]
) -> None:
    event = submitted(make_dossier())
    subs = [Subscription(id=i, url=f"https://x/{i}", event_types=types, secret="s", enabled=on, created_at=NOW)
            for i, types, on in [("a", ["pilot.application.submitted"], True), ("b", ["pilot.round.scheduled"], True),
                                 ("c", ["pilot.application.submitted"], False)]]
    out = webhook_deliveries(meta(event, "ev-2"), event, subs, NOW)
    assert [(d.id, d.status, d.address) for d in out] == [
        ("ev-2/a/webhook", Status.PENDING, "https://x/a"), ("ev-2/c/webhook", Status.HELD, "https://x/c")]
    assert out[0].body == out[1].body and out[0].kind == "pilot.application.submitted"


@pytest.mark.parametrize(("code", "ok", "retryable"), [
    (200, True, False), (204, True, False), (400, False, False), (404, False, False), (408, False, True),
    (429, False, True), (500, False, True), (503, False, True)])
def test_http_answers_are_sent_retried_or_refused(code: int, ok: bool, retryable: bool) -> None:
    result = http_result(code)
    assert (result.ok, result.retryable, result.status_code) == (ok, retryable, code)


def test_a_retryable_failure_backs_off_and_the_last_attempt_gives_up() -> None:
    policy = RetryPolicy(max_attempts=3, backoff_s=10, backoff_max_s=25)
    failed = SendResult(ok=False, retryable=True, error="HTTP 503")
    first = after_attempt(delivery(attempts=1, lease_owner="me"), failed, policy, NOW)
    assert first.status is Status.PENDING and first.next_attempt_at == NOW + timedelta(seconds=10)
    assert first.lease_owner == "" and first.last_error == "HTTP 503"
    second = after_attempt(delivery(attempts=2), failed, policy, NOW)
    assert second.next_attempt_at == NOW + timedelta(seconds=20)
    assert after_attempt(delivery(attempts=3), failed, policy, NOW).status is Status.FAILED
    assert after_attempt(delivery(attempts=1), SendResult(ok=False), policy, NOW).status is Status.FAILED
    sent = after_attempt(delivery(attempts=1), SendResult(ok=True), policy, NOW)
    assert sent.status is Status.SENT and sent.sent_at == NOW


def test_a_receiver_asking_to_slow_down_backs_off_without_using_up_the_attempts_for_a_day() -> None:
    policy = RetryPolicy(max_attempts=3, backoff_s=10, backoff_max_s=25)
    slow_down, failed = http_result(429, "60"), http_result(503)
    throttled = after_attempt(delivery(attempts=3, throttled=1), slow_down, policy, NOW)  # 2 of 3 were 429s
    assert throttled.status is Status.PENDING and throttled.throttled == 2
    assert throttled.next_attempt_at == NOW + timedelta(seconds=25)  # backs off (capped), Retry-After too
    assert after_attempt(delivery(attempts=4, throttled=2), failed, policy, NOW).status is Status.PENDING  # 2 failed
    assert after_attempt(delivery(attempts=5, throttled=2), failed, policy, NOW).status is Status.FAILED  # the 3rd
    a_day_on = NOW + policy.throttled_for
    assert after_attempt(delivery(attempts=2, throttled=1), slow_down, policy, a_day_on).status is Status.FAILED
    assert after_attempt(delivery(attempts=2), failed, policy, a_day_on).status is Status.PENDING  # held, released


@given(st.integers(min_value=1, max_value=60), st.floats(min_value=0, max_value=1e5) | st.none())
def test_backoff_never_exceeds_its_cap_and_honours_retry_after_within_it(
    attempts: int, retry_after: float | None
) -> None:
    policy = RetryPolicy(max_attempts=99, backoff_s=5, backoff_max_s=3600)
    delay = policy.delay(attempts, retry_after).total_seconds()
    assert delay <= 3600
    assert delay >= min(5 * 2 ** (attempts - 1), 3600)
    if retry_after is not None:
        assert delay >= min(retry_after, 3600) - 1e-6  # timedelta keeps microseconds


def test_retry_after_from_the_receiver_is_respected() -> None:
    assert http_result(429, "120").retry_after_s == 120
    assert http_result(503, "Wed, 21 Oct 2026 07:28:00 GMT").retry_after_s is None


def test_addresses_are_masked_for_logs() -> None:
    assert mask_address("pilot0@example.cn") == "p***@example.cn"
    assert mask_address("13802710000") == "138****0000"
    assert mask_address("https://gov.example/hook") == "https://gov.example/hook"
    refused = "SMTPRecipientsRefused: [(550, 'no such user', 'pilot0@example.cn')] 13802710000"
    assert mask_address(refused) == "SMTPRecipientsRefused: [(550, 'no such user', 'p***@example.cn')] 138****0000"


def test_webhooks_never_name_the_experts(make_dossier: Callable[..., Dossier]) -> None:
    import json

    from zhongshi_notify.planning import webhook_payload

    from .samples import decided, declined, meta, panel_drawn

    for event in (panel_drawn(), declined(), decided(make_dossier())):
        data = json.loads(webhook_payload(meta(event), event))["data"]
        assert "E00" not in json.dumps(data), data


def test_experts_are_told_of_their_assignment_and_the_applicant_of_the_decision(
    make_dossier: Callable[..., Dossier]
) -> None:
    from zhongshi_notify.notices import notices

    from .samples import decided, declined, panel_drawn

    drawn = notices(panel_drawn(), None, {})
    assert [(n.recipient, n.template) for n in drawn] == [("E001", "review.panel-drawn.expert"),
                                                          ("E002", "review.panel-drawn.expert")]
    assert drawn[0].facts["lead"] and not drawn[1].facts["lead"]
    assert [n.recipient for n in notices(declined(), None, {})] == ["E003"]
    assert [n.recipient for n in notices(declined(None), None, {})] == ["42"]
    [told] = notices(decided(make_dossier()), None, {})
    assert told.recipient == make_dossier().applicant.credit_code and "拟认定" in told.facts["decision"]


def test_a_topped_up_panel_tells_only_the_experts_it_added() -> None:
    from zhongshi_notify.notices import notices

    from .samples import panel_drawn

    topped = panel_drawn(experts=("E001", "E002", "E009")).model_copy(update={"topped_up": ["E009"]})
    [told] = notices(topped, None, {})
    assert (told.recipient, told.facts["lead"]) == ("E009", "")
