"""Notify's handlers: an event's notices are *planned* — inbox messages written, e-mail, SMS and webhook
deliveries queued for the dispatcher — in the one transaction that records the event as consumed, so a
redelivered event plans nothing new. Reminders and escalations fire the same way, once per timer id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationSubmitted, Event
from zhongshi_contracts.recommendation import RoundScheduled
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.messaging import Consumers
from zhongshi_runtime.outbox import Consumed, Session, UnitOfWork

from zhongshi_notify import reminders
from zhongshi_notify.deliveries import DeliveryStore
from zhongshi_notify.domain import Audience, Case, Notice, advance, schedule
from zhongshi_notify.metrics import NotifyMetrics
from zhongshi_notify.notices import NOTIFIED_EVENTS, notices
from zhongshi_notify.planning import (
    ApplicantContact,
    Channel,
    Contact,
    Delivery,
    InboxMessage,
    plan_notice,
    webhook_deliveries,
)
from zhongshi_notify.reminders import Timer
from zhongshi_notify.repository import NotifyRepository
from zhongshi_notify.templates import Templates

Planned = tuple[list[InboxMessage], list[Delivery]]


class Planner:
    """Turns an event (or a due timer) into stored inbox messages and queued deliveries, inside a transaction."""

    def __init__(self, repo: NotifyRepository, store: DeliveryStore, templates: Templates, *,
                 enabled: Iterable[Channel], clock: Clock) -> None:
        self.repo, self.store, self.templates, self.clock = repo, store, templates, clock
        self.enabled = frozenset(enabled)

    async def plan(self, event: Event, meta: CloudEvent, session: Session) -> Planned:
        before = await self._follow(event, session)
        known = await self.repo.schedule(event.round_id, session)
        said = notices(event, before, known.deadlines if known else {})
        inbox, outgoing = await self._plan(meta.id, meta.type, event.application_id, said, session)
        outgoing += webhook_deliveries(meta, event, await self.store.subscriptions(session), self.clock())
        await self._store(inbox, outgoing, session)
        return inbox, outgoing

    async def fire(self, timer: Timer, session: Session) -> Planned:
        inbox, outgoing = await self._plan(timer.id, f"notify.{timer.kind.value}", "", [timer.notice()], session)
        await self._store(inbox, outgoing, session)
        return inbox, outgoing

    async def _follow(self, event: Event, session: Session) -> Case | None:
        """Keep what later notices need (the case's stage, the contact, the round's deadlines); return the
        case as it was before ``event``."""
        if isinstance(event, RoundScheduled):
            await self.repo.save_schedule(schedule(await self.repo.schedule(event.round_id, session), event), session)
            return None
        before = await self.repo.case(event.application_id, session)
        after = advance(before, event)
        if after is not None and after != before:
            await self.repo.save_case(after, session)
        if isinstance(event, ApplicationSubmitted):
            known = await self.repo.contact(event.application_id, session)
            if known is None or known.revision <= event.revision:
                contact = Contact.model_validate(event.dossier.applicant.contact.model_dump())
                await self.repo.save_contact(ApplicantContact(
                    application_id=event.application_id, revision=event.revision, contact=contact), session)
        return before

    async def _plan(self, source_id: str, event_type: str, application_id: str, said: Sequence[Notice],
                    session: Session) -> Planned:
        inbox, outgoing = [], []
        for notice in said:
            contact = await self._contact(notice, application_id, session)
            prefs = await self.repo.preferences(notice.recipient, session)
            message, deliveries = plan_notice(source_id, event_type, application_id, notice, contact, prefs,
                                              self.enabled, self.templates.render, self.clock())
            inbox.append(message)
            outgoing.extend(deliveries)
        return inbox, outgoing

    async def _contact(self, notice: Notice, application_id: str, session: Session) -> Contact | None:
        if notice.audience is Audience.APPLICANT:
            known = await self.repo.contact(application_id, session)
            return known.contact if known else None
        return await self.repo.directory_entry(notice.recipient, session)

    async def _store(self, inbox: list[InboxMessage], outgoing: list[Delivery], session: Session) -> None:
        await self.repo.add_inbox(inbox, session)
        await self.store.add(outgoing, session)


def register(consumers: Consumers, uow: UnitOfWork, planner: Planner, metrics: NotifyMetrics) -> None:
    """Subscribe notify's one handler to every event it tells people about."""

    async def on_event(event: Event, meta: CloudEvent) -> None:
        planned: list[Planned] = []

        async def work(session: Session) -> list[Event]:
            planned[:] = [await planner.plan(event, meta, session)]  # a retried transaction plans afresh
            return []

        if await uow.run(work, consumed=Consumed("notify.plan", meta, event.topic.name)):
            metrics.deliveries.labels(Channel.INBOX.value, "sent").inc(len(planned[0][0]))

    for model in NOTIFIED_EVENTS:
        consumers.on(model)(on_event)


def timer_event(timer: Timer, planner: Planner) -> CloudEvent:
    """The timer as the consumed 'event' of its unit of work: its id is recorded once, like an event's."""
    return CloudEvent(id=timer.id, source="/zhongshi/notify", type=f"cn.gov.hubei.pilot.notify.{timer.kind}.v1",
                      subject=timer.round_id, time=planner.clock())


async def fire_due_timers(uow: UnitOfWork, planner: Planner, metrics: NotifyMetrics,
                          days_before: Sequence[int]) -> int:
    """Fire every reminder and escalation due today that has not fired yet; return how many fired."""
    today = shanghai_date(planner.clock())
    deadlines = {s.round_id: s.deadlines for s in await planner.repo.schedules()}
    fired = 0
    for timer in reminders.due(today, deadlines, await planner.repo.open_cases(), days_before):
        async def work(session: Session, timer: Timer = timer) -> list[Event]:
            await planner.fire(timer, session)
            return []

        if await uow.run(work, consumed=Consumed("notify.timer", timer_event(timer, planner), "notify.timers")):
            metrics.reminders.labels(timer.kind.value).inc()
            metrics.deliveries.labels(Channel.INBOX.value, "sent").inc()
            fired += 1
    return fired
