"""Channels and deliveries, pure: which channels a notice goes on, the deliveries to send, the allow-listed
webhook payload, and what a send attempt leads to (sent, retried later, given up)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import Event
from zhongshi_contracts.inputs import Flag
from zhongshi_contracts.privacy import public_data
from zhongshi_contracts.projections import public_event_id, public_view
from zhongshi_runtime.logs import mask_personal_data

from zhongshi_notify.domain import Audience, Notice, reader

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Channel(StrEnum):
    INBOX = "inbox"  # 站内信
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


HUMAN_CHANNELS = (Channel.INBOX, Channel.EMAIL, Channel.SMS)
SENT_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.WEBHOOK)  # sent by the dispatcher


class Status(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up: permanent refusal or attempts exhausted
    HELD = "held"  # its webhook subscription is disabled; released when an operator enables it
    AWAITING = "awaiting_contact"  # to an applicant whose submission (with the contact) is not consumed yet


class Contact(BaseModel):
    """Where a recipient is reached besides the inbox (an applicant's contact, an official's directory entry)."""

    model_config = ConfigDict(frozen=True)

    name: str = ""
    email: str | None = None
    phone: str | None = None


class ApplicantContact(BaseModel):
    """The applicant's contact from its latest submission's dossier (a resubmission may change it)."""

    model_config = ConfigDict(frozen=True)

    application_id: str
    revision: int
    contact: Contact


class Preferences(BaseModel):
    """A recipient's channels; the inbox is always written (it is the record of what was said)."""

    model_config = ConfigDict(frozen=True)

    email: Flag = True
    sms: Flag = True


class Rendered(NamedTuple):
    title: str
    body: str


Render = Callable[[str, Channel, Mapping[str, str]], Rendered]


class InboxMessage(BaseModel):
    id: str
    recipient: str
    title: str
    body: str
    application_id: str
    event_type: str
    created_at: datetime
    read: bool = False


class Delivery(BaseModel):
    """One message to send on one channel to one recipient: the unit of exactly-once, retry and lease."""

    id: str = Field(description="<event or timer id>/<recipient>/<channel>")
    source_id: str = Field(description="The CloudEvent id (or the timer id) that caused it.")
    kind: str = Field(description="The template, or the event type for webhooks.")
    channel: Channel
    recipient: str = Field(description="Credit code, region scope, or webhook subscription id.")
    address: str = Field(description="E-mail address, phone number or webhook URL.")
    title: str = ""
    body: str
    application_id: str
    status: Status = Status.PENDING
    attempts: int = 0
    throttled: int = Field(0, description="Of the attempts, those the receiver answered 429 (slow down): not failures.")
    created_at: datetime
    next_attempt_at: datetime
    lease_until: datetime = EPOCH
    lease_owner: str = ""
    last_error: str = ""
    sent_at: datetime | None = None


class Subscription(BaseModel):
    """An outside system's webhook: where to, for which event types, with which signing secret."""

    id: str
    url: str
    event_types: list[str]
    secret: str
    description: str = ""
    enabled: bool = True
    consecutive_failures: int = 0
    created_at: datetime
    disabled_at: datetime | None = None


class Attempt(BaseModel):
    """One send attempt, as the delivery log keeps it."""

    delivery_id: str
    source_id: str
    channel: Channel
    recipient: str
    kind: str
    attempt: int
    at: datetime
    outcome: str = Field(description="sent, retry or failed")
    status_code: int | None = None
    error: str = ""
    duration_ms: float


_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def reply_contact(reply_to: str | None) -> Contact | None:
    """Where a member of the public asked to be answered: a mainland mobile number (by SMS) or an e-mail
    address; anything else (a landline, a typo) reaches nobody beyond the record."""
    text = (reply_to or "").strip()
    if _ADDRESS.match(text):
        return Contact(email=text)
    mobile = _MOBILE.match(re.sub(r"[\s()-]", "", text))
    return Contact(phone=mobile.group(1)) if mobile else None


def delivery_id(source_id: str, recipient: str, channel: Channel) -> str:
    return f"{source_id}/{recipient}/{channel}"


def channels_for(contact: Contact | None, prefs: Preferences, enabled: Iterable[Channel]) -> list[tuple[Channel, str]]:
    """The outgoing channels (beyond the inbox) and their addresses: known, wanted and switched on."""
    on = set(enabled)
    wanted = [(Channel.EMAIL, contact.email if contact and prefs.email else None),
              (Channel.SMS, contact.phone if contact and prefs.sms else None)]
    return [(channel, address) for channel, address in wanted if address and channel in on]


def plan_notice(
    source_id: str, event_type: str, application_id: str, notice: Notice, contact: Contact | None,
    prefs: Preferences, enabled: Iterable[Channel], render: Render, now: datetime,
) -> tuple[InboxMessage, list[Delivery]]:
    """The inbox message (always) and the e-mail/SMS deliveries of one notice."""
    title, body = render(notice.template, Channel.INBOX, notice.facts)
    inbox = InboxMessage(id=delivery_id(source_id, notice.recipient, Channel.INBOX),
                         recipient=reader(notice.audience, notice.recipient),
                         title=title, body=body, application_id=application_id, event_type=event_type, created_at=now)
    outgoing = []
    if contact is None and notice.audience is Audience.APPLICANT:  # events on other topics may come first
        routes = [(c, "") for c, wanted in ((Channel.EMAIL, prefs.email), (Channel.SMS, prefs.sms))
                  if wanted and c in set(enabled)]
    else:
        routes = channels_for(contact, prefs, enabled)
    for channel, address in routes:
        title, body = render(notice.template, channel, notice.facts)
        outgoing.append(Delivery(
            id=delivery_id(source_id, notice.recipient, channel), source_id=source_id, kind=notice.template,
            channel=channel, recipient=notice.recipient, address=address, title=title, body=body,
            application_id=application_id, created_at=now, next_attempt_at=now,
            status=Status.PENDING if address else Status.AWAITING,
        ))
    return inbox, outgoing


def addressed(delivery: Delivery, contact: Contact, now: datetime) -> Delivery:
    """A delivery that awaited the applicant's contact, now known: due at once, or failed without that address."""
    address = contact.email if delivery.channel is Channel.EMAIL else contact.phone
    if not address:
        return delivery.model_copy(update={"status": Status.FAILED, "last_error": "no address on this channel"})
    return delivery.model_copy(update={"status": Status.PENDING, "address": address, "next_attempt_at": now})


# ---- webhooks ----------------------------------------------------------------------------------------

def masked(value: Any) -> Any:
    """``value`` with phone numbers, e-mails and ID numbers masked in its texts (free text a person typed)."""
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return mask_personal_data(value) if isinstance(value, str) else value


def webhook_data(event: Event) -> tuple[str, dict[str, Any]]:
    """The CloudEvents type and data an outside system gets: the event's public projection when it carries
    personal data, and of that only the fields classified public (an allow-list), texts masked."""
    public = public_view(event) or event
    return type(public).ce_type(), masked(public_data(public))


def webhook_id(meta: CloudEvent, event: Event) -> str:
    """The CloudEvent id an outside system sees (``webhook-id``): a projection's is its public record's."""
    return public_event_id(meta.id) if event.internal_topic is not None else meta.id


def webhook_payload(meta: CloudEvent, event: Event) -> str:
    """The event as a structured-mode CloudEvent (JSON), its data the public fields only; a projection keeps
    the id its public topic's record has."""
    ce_type, data = webhook_data(event)
    document = {
        "specversion": meta.specversion, "id": webhook_id(meta, event), "source": meta.source, "type": ce_type,
        "subject": meta.subject, "time": meta.time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json", "data": data,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def webhook_deliveries(meta: CloudEvent, event: Event, subscriptions: Iterable[Subscription],
                       now: datetime) -> list[Delivery]:
    """One delivery per subscription to this event type; a disabled subscription's is held."""
    payload, ce_id = webhook_payload(meta, event), webhook_id(meta, event)
    return [
        Delivery(id=delivery_id(meta.id, s.id, Channel.WEBHOOK), source_id=ce_id, kind=event.topic.name,
                 channel=Channel.WEBHOOK, recipient=s.id, address=s.url, body=payload,
                 application_id=event.application_id, status=Status.PENDING if s.enabled else Status.HELD,
                 created_at=now, next_attempt_at=now)
        for s in subscriptions if event.topic.name in s.event_types
    ]


# ---- after a send attempt ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    ok: bool
    retryable: bool = False
    status_code: int | None = None
    error: str = ""
    retry_after_s: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8  # failed attempts; a receiver's 429 (slow down) is not one
    backoff_s: float = 5
    backoff_max_s: float = 3600
    throttled_for: timedelta = timedelta(days=1)  # retried through 429s this long after its creation, then failed

    def delay(self, attempts: int, retry_after_s: float | None = None) -> timedelta:
        """Exponential backoff after the ``attempts``-th attempt, at least what the receiver asked for."""
        seconds = min(self.backoff_max_s, self.backoff_s * 2 ** max(0, attempts - 1))
        if retry_after_s is not None:
            seconds = max(seconds, min(retry_after_s, self.backoff_max_s))
        return timedelta(seconds=seconds)


def after_attempt(delivery: Delivery, result: SendResult, policy: RetryPolicy, now: datetime) -> Delivery:
    """The delivery after its latest attempt (``delivery.attempts`` counts it): sent, retried later, or given up.
    A 429 asks the sender to slow down (a burst of notices, several replicas): it backs off like a failure but
    does not use up the attempts, until ``policy.throttled_for`` has passed."""
    slow_down = result.status_code == 429
    throttled = delivery.throttled + slow_down
    given_up = (delivery.attempts - throttled >= policy.max_attempts
                or (slow_down and now - delivery.created_at >= policy.throttled_for))
    if result.ok:
        update: dict[str, Any] = {"status": Status.SENT, "sent_at": now, "last_error": ""}
    elif result.retryable and not given_up:
        update = {"status": Status.PENDING, "last_error": result.error, "throttled": throttled,
                  "next_attempt_at": now + policy.delay(delivery.attempts, result.retry_after_s)}
    else:
        update = {"status": Status.FAILED, "last_error": result.error}
    return delivery.model_copy(update={**update, "lease_until": EPOCH, "lease_owner": ""})


def outcome_of(delivery: Delivery) -> str:
    return {Status.SENT: "sent", Status.PENDING: "retry", Status.HELD: "held"}.get(delivery.status, "failed")


def http_result(status_code: int, retry_after: str | None = None) -> SendResult:
    """2xx is delivered; 408, 429 and 5xx are worth retrying; any other answer is a permanent refusal."""
    if 200 <= status_code < 300:
        return SendResult(ok=True, status_code=status_code)
    wait = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
    retryable = status_code in (408, 429) or status_code >= 500
    return SendResult(ok=False, retryable=retryable, status_code=status_code, error=f"HTTP {status_code}",
                      retry_after_s=wait)


def mask_address(address: str) -> str:
    """Text fit for logs — an address or an error quoting one: p***@example.cn, 138****0000 (the runtime's
    one masking, which the log handler applies to every line as well)."""
    return mask_personal_data(address)
