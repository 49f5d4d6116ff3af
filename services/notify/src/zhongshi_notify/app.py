"""The notify service factory: who is told what, on which channel — inbox, e-mail, SMS, signed webhooks —
with reminders before deadlines and escalation after them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from zhongshi_runtime import contact_proof
from zhongshi_runtime.clock import Clock, utc_now
from zhongshi_runtime.retention import Rule
from zhongshi_runtime.service import ServiceKit
from zhongshi_runtime.store import MongoStore

from zhongshi_notify import api, api_verification, handlers, webhooks_api
from zhongshi_notify.channels import EmailSender, Sender, SmsSender, WebhookSender
from zhongshi_notify.deliveries import MongoDeliveryStore
from zhongshi_notify.dispatcher import Dispatcher
from zhongshi_notify.egress import EgressGuard
from zhongshi_notify.metrics import NotifyMetrics
from zhongshi_notify.planning import Channel, Contact, RetryPolicy
from zhongshi_notify.ratelimit import RateLimit, SendSchedule, SharedPace
from zhongshi_notify.repository import MongoNotifyRepository
from zhongshi_notify.service import Deps
from zhongshi_notify.settings import NotifySettings
from zhongshi_notify.templates import Templates
from zhongshi_notify.verification_service import Challenge, Verifier

VERIFICATIONS = "contact_verifications"  # the one-time codes (a MongoStore: times stored as text)


def senders(settings: NotifySettings) -> dict[Channel, Sender]:
    """The channels switched on by the settings: webhooks always, e-mail and SMS when configured."""
    webhooks = WebhookSender(settings.webhook_timeout_s, guard=guard(settings),
                             max_response_bytes=settings.webhook_max_response_bytes)
    found: dict[Channel, Sender] = {Channel.WEBHOOK: webhooks}
    if settings.smtp_host:
        found[Channel.EMAIL] = EmailSender(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender,
            username=settings.smtp_username, password=settings.smtp_password, starttls=settings.smtp_starttls,
            timeout_s=settings.smtp_timeout_s,
        )
    if settings.sms_gateway_url:
        found[Channel.SMS] = SmsSender(url=settings.sms_gateway_url, token=settings.sms_gateway_token,
                                       timeout_s=settings.sms_timeout_s)
    return found


def guard(settings: NotifySettings) -> EgressGuard:
    return EgressGuard(allow_private=settings.webhook_allow_private)


# An applicant's contact past its period is blanked, not deleted: the record left says the submission was read
# and its contact forgotten, so the applicant's later notices (annual reports, warnings) go to the console inbox
# alone instead of waiting, as for a submission not read yet, for a contact that will never come.
ERASABLE: dict[str, Any] = {"erased": {"$ne": True}}
ERASED: dict[str, Any] = {"contact": Contact().model_dump(), "erased": True}


def retention_rules(settings: NotifySettings) -> list[Rule]:
    """Addresses and texts of deliveries and their attempt log, the inbox, applicants' contacts, the one-time
    codes sent to objectors' contacts (their digests)."""
    return [Rule("deliveries", "created_at", settings.delivery_retention_days),
            Rule("delivery_attempts", "at", settings.delivery_retention_days),
            Rule("inbox", "created_at", settings.inbox_retention_days),
            Rule("contacts", "stored_at", settings.contact_retention_days, where=ERASABLE, blank=ERASED),
            Rule(VERIFICATIONS, "created_at", settings.verification_retention_days, stored_as_text=True)]


def retry_policy(settings: NotifySettings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.max_attempts, backoff_s=settings.retry_backoff_s,
                       backoff_max_s=settings.retry_backoff_max_s)


def rate_limits(settings: NotifySettings) -> dict[str, RateLimit]:
    """The per-channel send quotas, shared by every replica (a rate of 0 is no limit)."""
    rates = {Channel.EMAIL: settings.email_per_s, Channel.SMS: settings.sms_per_s}
    return {channel.value: RateLimit(per_s) for channel, per_s in rates.items() if per_s > 0}


def create_app(settings: NotifySettings | None = None, clock: Clock = utc_now) -> FastAPI:
    settings = settings or NotifySettings()
    kit = ServiceKit(settings, title="zhongshi notify",
                     description="Who is told what, on which channel: inbox, e-mail, SMS, signed webhooks; "
                                 "reminders before deadlines and escalation after them.")
    repo, store = MongoNotifyRepository(kit.db), MongoDeliveryStore(kit.db, settings.secret_box())
    metrics = NotifyMetrics(kit.metrics.registry)
    channels = senders(settings)
    planner = handlers.Planner(repo, store, Templates.load(), enabled=[Channel.INBOX, *channels], clock=clock)
    handlers.register(kit.consumers, kit.uow, planner, metrics)
    kit.consumers.lane = handlers.lane
    dispatcher = Dispatcher(
        store, channels, policy=retry_policy(settings), lease_s=settings.lease_s, batch=settings.dispatch_batch,
        failure_threshold=settings.webhook_failure_threshold, metrics=metrics, clock=clock, logger=kit.logger,
        pace=SharedPace(MongoStore(kit.db, "send_schedules", SendSchedule), rate_limits(settings)),
    )
    for channel in dispatcher.channels:  # one loop per channel: a hanging SMTP server never delays webhooks
        kit.every(settings.dispatch_interval_s, _drain(dispatcher, channel))

    async def fire_timers() -> None:
        await handlers.fire_due_timers(kit.uow, planner, metrics, settings.reminder_days_before,
                                       report_days_before=settings.annual_report_days_before,
                                       report_due=settings.report_due,
                                       rectification_days_before=settings.rectification_days_before)

    async def indexes() -> None:
        await repo.ensure_indexes()
        await repo.migrate_readers()
        await store.ensure_indexes()
        await store.seal_secrets()

    kit.on_startup(indexes)
    kit.retention.keep(*retention_rules(settings))
    kit.every(settings.reminder_interval_s, fire_timers)
    https_only = settings.environment == "production"

    @cache
    def proof_key() -> Ed25519PrivateKey:
        return contact_proof.load_private_key(Path(settings.contact_proof_key_file),
                                              create=settings.environment == "development")

    async def load_proof_key() -> None:
        try:
            proof_key()  # in development this writes the key and its .pub for the registry
        except (OSError, ValueError) as exc:  # optional: logged-in objectors do not need it
            kit.logger.warning("contact verification is off until its key is provided: %s", exc)

    kit.on_startup(load_proof_key)
    verifier = Verifier.of(
        MongoStore(kit.db, VERIFICATIONS, Challenge), channels, proof_key, uow=kit.uow,
        clock=clock, per_client_hour=settings.verifications_per_client_hour,
        per_contact_hour=settings.verifications_per_contact_hour, trust_forwarded_for=settings.trust_forwarded_for)
    subscribable = sorted(m.topic.name for m in kit.consumers.models)  # public names, never pilot.internal.*
    app = kit.asgi([api.router, webhooks_api.router, api_verification.router])
    app.state.deps = Deps(repo, store, kit.uow, clock, subscribable, guard(settings), https_only)
    app.state.verifier = verifier
    app.router.lifespan_context = stopping_sends(app.router.lifespan_context, dispatcher, settings.shutdown_grace_s)
    return app


def stopping_sends(lifespan: Any, dispatcher: Dispatcher, grace_s: float) -> Any:
    """The kit's lifespan, stopping the sends in flight while the database they are recorded in is still open
    (left running, they fail to record once it closes and are sent a second time after their lease)."""
    @contextlib.asynccontextmanager
    async def stopping(app: FastAPI) -> AsyncIterator[None]:
        async with lifespan(app):
            try:
                yield
            finally:
                await dispatcher.stop(grace_s)

    return stopping


def _drain(dispatcher: Dispatcher, channel: Channel) -> Callable[[], Awaitable[None]]:
    async def drain() -> None:
        await dispatcher.drain(channel)

    drain.__name__ = f"drain_{channel.value}"
    return drain
