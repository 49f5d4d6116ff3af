"""Notify's settings: channels switch on with their configuration, secrets are real outside development."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from zhongshi_notify.app import create_app, senders
from zhongshi_notify.planning import Channel
from zhongshi_notify.settings import NotifySettings

PRODUCTION: dict[str, Any] = {"environment": "production", "auth_issuer": "https://id.hubei.gov.cn", "auth_jwks_url": "https://k",
              "mongodb_uri": "mongodb://notify:from-a-vault@mongo-0:27017/?replicaSet=rs0&tls=true",
              "webhook_secret_key": "cHJvZHVjdGlvbi10ZXN0LWtleS0zMi1ieXRlcy1sb24="}


def test_by_default_only_the_inbox_and_webhooks_are_on() -> None:
    settings = NotifySettings()
    assert set(senders(settings)) == {Channel.WEBHOOK}
    assert settings.reminder_days_before == [3, 1] and settings.port == 8005


def test_e_mail_and_sms_switch_on_with_their_server_and_gateway() -> None:
    settings = NotifySettings(smtp_host="mail.local", sms_gateway_url="http://sms.local/send")
    assert set(senders(settings)) == {Channel.WEBHOOK, Channel.EMAIL, Channel.SMS}


def test_environment_variables_are_read_with_the_notify_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_REMINDER_DAYS_BEFORE", "1, 7,3")
    monkeypatch.setenv("NOTIFY_SMTP_HOST", "mailpit")
    monkeypatch.setenv("NOTIFY_SMTP_PORT", "1025")
    monkeypatch.setenv("NOTIFY_WEBHOOK_FAILURE_THRESHOLD", "9")
    settings = NotifySettings()
    assert settings.reminder_days_before == [7, 3, 1]
    assert (settings.smtp_host, settings.smtp_port, settings.webhook_failure_threshold) == ("mailpit", 1025, 9)


@pytest.mark.parametrize(("changes", "message"), [
    ({"sms_gateway_url": "https://sms", "sms_gateway_token": ""}, "NOTIFY_SMS_GATEWAY_TOKEN is required"),
    ({"sms_gateway_url": "https://sms", "sms_gateway_token": "changeme"}, "placeholder"),
    ({"smtp_username": "notify", "smtp_password": ""}, "NOTIFY_SMTP_PASSWORD is required"),
    ({"smtp_username": "notify", "smtp_password": "secret"}, "placeholder"),
])
def test_production_refuses_missing_or_placeholder_secrets(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NotifySettings(**PRODUCTION, **changes)
    NotifySettings(**changes)  # development accepts them


def test_production_without_e_mail_or_sms_needs_no_secret() -> None:
    assert NotifySettings(**PRODUCTION).smtp_host == ""


def test_the_annual_report_is_due_on_31_march_of_the_next_year_unless_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = NotifySettings()
    assert (default.report_due, default.annual_report_days_before) == ((3, 31), [30, 7])
    monkeypatch.setenv("NOTIFY_ANNUAL_REPORT_DUE", "04-30")
    monkeypatch.setenv("NOTIFY_ANNUAL_REPORT_DAYS_BEFORE", "14,60")
    configured = NotifySettings()
    assert (configured.report_due, configured.annual_report_days_before) == ((4, 30), [60, 14])


def test_rectification_reminders_default_to_30_and_7_days_before(monkeypatch: pytest.MonkeyPatch) -> None:
    assert NotifySettings().rectification_days_before == [30, 7]
    monkeypatch.setenv("NOTIFY_RECTIFICATION_DAYS_BEFORE", "3, 14,14")
    assert NotifySettings().rectification_days_before == [14, 3]
    monkeypatch.setenv("NOTIFY_RECTIFICATION_DAYS_BEFORE", "-1")
    with pytest.raises(ValidationError, match="0 or more"):
        NotifySettings()


@pytest.mark.parametrize("due", ["02-29", "13-01", "04-31", "3-31", "0331"])
def test_an_annual_report_due_day_not_in_every_year_is_refused(due: str) -> None:
    with pytest.raises(ValidationError, match=r"annual_report_due|NOTIFY_ANNUAL_REPORT_DUE"):
        NotifySettings(annual_report_due=due)


def test_a_lease_shorter_than_a_send_could_take_is_refused() -> None:
    with pytest.raises(ValidationError, match="NOTIFY_LEASE_S"):
        NotifySettings(lease_s=5, webhook_timeout_s=10)
    with pytest.raises(ValidationError, match="0 or more"):
        NotifySettings(reminder_days_before=[-1])


def test_the_service_builds_without_io_and_documents_what_it_consumes() -> None:
    app = create_app(NotifySettings(smtp_host="mail.local"))
    channels = app.state.kit.asyncapi()["channels"]
    assert len(channels) == 23 and "notify:consume:pilot.platform.accredited" in channels
    assert {"notify:consume:pilot.internal.publicity.objection-resolved", "notify:consume:pilot.internal.review.scored",
            "notify:consume:pilot.platform.annual-report-filed"} <= set(channels)
    jobs = [getattr(job, "__name__", "") for _, job in app.state.kit._periodic]
    assert jobs == ["measure_dlq", "_purge", "drain_webhook", "drain_email", "fire_timers"]  # a loop per channel


def test_production_needs_a_webhook_sealing_key_and_refuses_private_webhooks() -> None:
    with pytest.raises(ValidationError, match="NOTIFY_WEBHOOK_SECRET_KEY"):
        NotifySettings(**{**PRODUCTION, "webhook_secret_key": ""})
    with pytest.raises(ValidationError, match="NOTIFY_WEBHOOK_ALLOW_PRIVATE"):
        NotifySettings(**PRODUCTION, webhook_allow_private=True)
    with pytest.raises(ValidationError):
        NotifySettings(environment="development", webhook_secret_key="not-a-fernet-key")
    assert NotifySettings(environment="development", webhook_allow_private=True).webhook_allow_private
