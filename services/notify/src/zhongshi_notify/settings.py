"""Notify's settings: the shared ones plus its channels, retries and reminders (env prefix ``NOTIFY_``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode
from zhongshi_runtime.settings import PLACEHOLDERS, ServiceSettings

from zhongshi_notify.sealing import SecretBox


class NotifySettings(ServiceSettings):
    service_name: ClassVar[str] = "notify"
    port: int = Field(8005, validation_alias="NOTIFY_PORT")
    database: str = Field("zhongshi_notify", validation_alias="NOTIFY_MONGODB_DATABASE")

    smtp_host: str = Field("", validation_alias="NOTIFY_SMTP_HOST", description="Empty: e-mail is off.")
    smtp_port: int = Field(25, ge=1, le=65535, validation_alias="NOTIFY_SMTP_PORT")
    smtp_sender: str = Field("湖北省制造业中试平台认定 <noreply@zhongshi.local>", validation_alias="NOTIFY_SMTP_SENDER")
    smtp_username: str = Field("", validation_alias="NOTIFY_SMTP_USERNAME")
    smtp_password: str = Field("", validation_alias="NOTIFY_SMTP_PASSWORD")
    smtp_starttls: bool = Field(False, validation_alias="NOTIFY_SMTP_STARTTLS")
    smtp_timeout_s: float = Field(10, gt=0, validation_alias="NOTIFY_SMTP_TIMEOUT_S")

    sms_gateway_url: str = Field("", validation_alias="NOTIFY_SMS_GATEWAY_URL", description="Empty: SMS is off.")
    sms_gateway_token: str = Field("", validation_alias="NOTIFY_SMS_GATEWAY_TOKEN")
    sms_timeout_s: float = Field(10, gt=0, validation_alias="NOTIFY_SMS_TIMEOUT_S")

    contact_proof_key_file: str = Field(
        "var/notify/contact-proof-ed25519.pem", validation_alias="NOTIFY_CONTACT_PROOF_KEY_FILE",
        description="Ed25519 key signing the proofs of a verified contact (objections); the public key is "
                    "beside it (.pub) for the registry. Created in development when missing.")
    verifications_per_client_hour: int = Field(10, ge=1, validation_alias="NOTIFY_VERIFICATIONS_PER_CLIENT_HOUR")
    trust_forwarded_for: bool = Field(False, validation_alias="NOTIFY_TRUST_FORWARDED_FOR",
                                      description="Take the client address from X-Forwarded-For (behind the "
                                      "gateway or the console): what the per-client code limit counts by.")
    verifications_per_contact_hour: int = Field(3, ge=1, validation_alias="NOTIFY_VERIFICATIONS_PER_CONTACT_HOUR")

    webhook_timeout_s: float = Field(10, gt=0, validation_alias="NOTIFY_WEBHOOK_TIMEOUT_S")
    webhook_max_response_bytes: int = Field(65536, ge=0, validation_alias="NOTIFY_WEBHOOK_MAX_RESPONSE_BYTES")
    webhook_allow_private: bool = Field(
        False, validation_alias="NOTIFY_WEBHOOK_ALLOW_PRIVATE",
        description="Development and tests only: let webhooks reach loopback and private addresses.",
    )
    webhook_secret_key: str = Field(
        "", validation_alias="NOTIFY_WEBHOOK_SECRET_KEY",
        description="Fernet key(s) sealing stored webhook secrets, comma-separated (the first seals); "
                    "required outside development.",
    )
    webhook_failure_threshold: int = Field(5, ge=1, validation_alias="NOTIFY_WEBHOOK_FAILURE_THRESHOLD")

    consumer_concurrency: int = Field(
        8, ge=1, le=64, validation_alias="NOTIFY_CONSUMER_CONCURRENCY",
        description="Applications whose events are planned at once; each application's events stay in order.")
    consumer_events_per_transaction: int = Field(
        50, ge=1, le=1000, validation_alias="NOTIFY_CONSUMER_EVENTS_PER_TRANSACTION",
        description="About this many events planned in one transaction: one commit and one processed-event "
                    "lookup for all of them, about half the database commands an event (docs/performance.md).")
    email_per_s: float = Field(10, ge=0, validation_alias="NOTIFY_EMAIL_PER_S",
                               description="Most e-mails sent a second by all replicas together (0: no limit): the "
                                           "SMTP relay's quota.")
    sms_per_s: float = Field(5, ge=0, validation_alias="NOTIFY_SMS_PER_S",
                             description="Most text messages sent a second by all replicas together (0: no limit): the "
                                         "gateway's quota.")

    # Retention of personal data (docs/retention.md), in days.
    delivery_retention_days: int = Field(180, ge=1, validation_alias="NOTIFY_DELIVERY_RETENTION_DAYS")
    inbox_retention_days: int = Field(1095, ge=1, validation_alias="NOTIFY_INBOX_RETENTION_DAYS")
    contact_retention_days: int = Field(365, ge=1, validation_alias="NOTIFY_CONTACT_RETENTION_DAYS")
    verification_retention_days: int = Field(7, ge=1, validation_alias="NOTIFY_VERIFICATION_RETENTION_DAYS")
    dispatch_interval_s: float = Field(1.0, gt=0, validation_alias="NOTIFY_DISPATCH_INTERVAL_S")
    dispatch_batch: int = Field(50, ge=1, le=1000, validation_alias="NOTIFY_DISPATCH_BATCH")
    max_attempts: int = Field(8, ge=1, le=50, validation_alias="NOTIFY_MAX_ATTEMPTS")
    retry_backoff_s: float = Field(5, ge=0, validation_alias="NOTIFY_RETRY_BACKOFF_S")
    retry_backoff_max_s: float = Field(3600, ge=0, validation_alias="NOTIFY_RETRY_BACKOFF_MAX_S")
    lease_s: float = Field(120, gt=0, validation_alias="NOTIFY_LEASE_S")
    shutdown_grace_s: float = Field(
        10, ge=0, validation_alias="NOTIFY_SHUTDOWN_GRACE_S",
        description="At shutdown, wait this long for sends in flight to be recorded before cancelling them.")

    reminder_days_before: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [3, 1], validation_alias="NOTIFY_REMINDER_DAYS_BEFORE",
        description="Remind this many days before a stage deadline, e.g. 3,1.",
    )
    reminder_interval_s: float = Field(300, gt=0, validation_alias="NOTIFY_REMINDER_INTERVAL_S")
    annual_report_due: str = Field(
        "03-31", pattern=r"^\d{2}-\d{2}$", validation_alias="NOTIFY_ANNUAL_REPORT_DUE",
        description="MM-DD of the year after the reported one: the last day to file a year's annual report.",
    )
    annual_report_days_before: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [30, 7], validation_alias="NOTIFY_ANNUAL_REPORT_DAYS_BEFORE",
        description="Remind the applicant this many days before its annual report is due, e.g. 30,7.",
    )
    rectification_days_before: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [30, 7], validation_alias="NOTIFY_RECTIFICATION_DAYS_BEFORE",
        description="Remind a warned platform's applicant this many days before its rectification deadline.",
    )

    @field_validator("reminder_days_before", "annual_report_days_before", "rectification_days_before", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [int(part) for part in value.replace(" ", "").split(",") if part]
        return value

    @field_validator("reminder_days_before", "annual_report_days_before", "rectification_days_before")
    @classmethod
    def _non_negative(cls, value: list[int]) -> list[int]:
        if any(days < 0 for days in value):
            raise ValueError("reminder days must be 0 or more")
        return sorted(set(value), reverse=True)

    @field_validator("annual_report_due")
    @classmethod
    def _a_day_of_every_year(cls, value: str) -> str:
        month, day = (int(part) for part in value.split("-"))
        try:
            date(2001, month, day)  # not a leap year: 02-29 would be missing three years in four
        except ValueError:
            raise ValueError(f"{value} is not a day every year has (MM-DD)") from None
        return value

    def secret_box(self) -> SecretBox:
        """The key sealing webhook secrets: the configured one, or the public development key."""
        return SecretBox(self.webhook_secret_key) if self.webhook_secret_key else SecretBox.development()

    @property
    def report_due(self) -> tuple[int, int]:
        """The annual report's due day as (month, day)."""
        month, day = self.annual_report_due.split("-")
        return int(month), int(day)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        slowest = max(self.smtp_timeout_s, self.sms_timeout_s, self.webhook_timeout_s)
        if self.lease_s <= slowest:
            raise ValueError(f"NOTIFY_LEASE_S ({self.lease_s}) must exceed the slowest send timeout ({slowest})")
        if self.environment == "production" and self.webhook_allow_private:
            raise ValueError("NOTIFY_WEBHOOK_ALLOW_PRIVATE lets webhooks reach internal addresses: not in production")
        if self.webhook_secret_key:
            SecretBox(self.webhook_secret_key)  # a malformed key fails at start, not at the first subscription
        if self.environment == "development":
            return self
        if not self.webhook_secret_key:
            raise ValueError("NOTIFY_WEBHOOK_SECRET_KEY (a Fernet key) is required outside development")
        if self.sms_gateway_url and not self.sms_gateway_token:
            raise ValueError("NOTIFY_SMS_GATEWAY_TOKEN is required when NOTIFY_SMS_GATEWAY_URL is set")
        if self.smtp_username and not self.smtp_password:
            raise ValueError("NOTIFY_SMTP_PASSWORD is required when NOTIFY_SMTP_USERNAME is set")
        for name, secret in (("NOTIFY_SMTP_PASSWORD", self.smtp_password),
                             ("NOTIFY_SMS_GATEWAY_TOKEN", self.sms_gateway_token)):
            if any(p in secret.lower() for p in PLACEHOLDERS):
                raise ValueError(f"{name} still holds a placeholder secret")
        return self
