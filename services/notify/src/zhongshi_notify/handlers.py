"""Notify's handlers: an event's notices are *planned* — inbox messages written, e-mail, SMS and webhook
deliveries queued for the dispatcher — in the one transaction that records the event as consumed, so a
redelivered event plans nothing new. Reminders and escalations fire the same way, once per timer id."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

from pydantic import BaseModel
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationSubmitted, Event
from zhongshi_contracts.recommendation import RoundScheduled
from zhongshi_contracts.registry import ObjectionResolved
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.handling import EventUnit
from zhongshi_runtime.messaging import Consumers, by_key
from zhongshi_runtime.outbox import Consumed, Session, UnitOfWork
from zhongshi_runtime.store import Store

from zhongshi_notify import deadlines, reminders
from zhongshi_notify.deliveries import DeliveryStore
from zhongshi_notify.domain import Audience, Case, Notice, advance, reader, schedule
from zhongshi_notify.metrics import NotifyMetrics
from zhongshi_notify.notices import NOTIFIED_EVENTS, notices
from zhongshi_notify.planning import (
    ApplicantContact,
    Channel,
    Contact,
    Delivery,
    InboxMessage,
    plan_notice,
    reply_contact,
    webhook_deliveries,
)
from zhongshi_notify.reminders import Due
from zhongshi_notify.repository import NotifyRepository, Reach
from zhongshi_notify.templates import Templates
from zhongshi_notify.tracking import (
    FOLLOWED_EVENTS,
    PANEL_EVENTS,
    PLATFORM_EVENTS,
    PUBLICITY_EVENTS,
    Platform,
    panel_after,
    platform_after,
    publicity_after,
)

CONSUMED_EVENTS: tuple[type[Event], ...] = (*NOTIFIED_EVENTS, *FOLLOWED_EVENTS)
M = TypeVar("M", bound=BaseModel)

Planned = tuple[list[InboxMessage], list[Delivery]]


class Planner:
    """Turns an event (or a due timer) into stored inbox messages and queued deliveries, inside a transaction."""

    def __init__(self, repo: NotifyRepository, store: DeliveryStore, templates: Templates, *,
                 enabled: Iterable[Channel], clock: Clock) -> None:
        self.repo, self.store, self.templates, self.clock = repo, store, templates, clock
        self.enabled = frozenset(enabled)

    async def plan(self, event: Event, meta: CloudEvent, session: Session) -> Planned:
        # Events of one application on different topics are planned at once (by two replicas, say), and one
        # may write what the other reads without both writing one document: an applicant's submission saves
        # the contact and addresses the deliveries waiting for it, while a recommendation reads no contact and
        # queues deliveries to wait. Both would commit, and those deliveries would wait for good.
        await self.repo.take_turn(event.application_id, session)
        before = await self._follow(event, session)
        outcome = await self._track(event, before, session)
        known = await self.repo.schedule(event.round_id, session)
        said = notices(event, before, known.deadlines if known else {}, outcome)
        inbox, outgoing = await self._plan(meta.id, meta.type, event.application_id, said, session,
                                           revision=getattr(event, "revision", None))
        outgoing += webhook_deliveries(meta, event, await self.store.subscriptions(session), self.clock())
        await self._store(inbox, outgoing, session)
        return inbox, outgoing

    async def fire(self, timer: Due, session: Session) -> Planned:
        await self.repo.take_turn(timer.application_id, session)  # as `plan`: a timer's notices may wait too
        said = [timer.notice()]
        inbox, outgoing = await self._plan(timer.id, f"notify.{timer.kind.value}", timer.application_id, said, session)
        await self._store(inbox, outgoing, session)
        return inbox, outgoing

    async def _track(self, event: Event, before: Case | None, session: Session) -> Platform | None:
        """Keep the panels, publicity windows and outcomes the other deadlines come from; return the outcome
        of the application the event's notices are about."""
        if isinstance(event, PANEL_EVENTS):
            name = before.platform_name if before else ""
            await _update(self.repo.panels, event.application_id, session, lambda p: panel_after(p, event, name))
        if isinstance(event, PUBLICITY_EVENTS):
            await _update(self.repo.publicity, event.round_id, session, lambda w: publicity_after(w, event))
        if isinstance(event, ObjectionResolved):
            return await self.repo.platforms.get(event.objected_application_id, session)
        if isinstance(event, PLATFORM_EVENTS):
            return await _update(self.repo.platforms, event.application_id, session, lambda p: platform_after(p, event))
        return None

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
                await self.store.address_awaiting(event.application_id, event.dossier.applicant.credit_code,
                                                  contact, self.clock(), session)
        return before

    async def _plan(self, source_id: str, event_type: str, application_id: str, said: Sequence[Notice],
                    session: Session, revision: int | None = None) -> Planned:
        """Plan every notice from one bulk read of the contacts, directory entries and preferences they need;
        an applicant's contact is taken only from ``revision`` (of ``application_id``) or a later submission."""
        if not said:
            return [], []
        abouts = [notice.application_id or application_id for notice in said]
        reach = await self.repo.reach(
            [a for a, n in zip(abouts, said, strict=True) if n.audience is Audience.APPLICANT],
            [_directory_key(n) for n in said if n.audience in (Audience.OFFICIAL, Audience.EXPERT)],
            [reader(n.audience, n.recipient) for n in said], session)
        inbox, outgoing = [], []
        for notice, about in zip(said, abouts, strict=True):
            since = revision if about == application_id else None
            message, deliveries = plan_notice(source_id, event_type, about, notice,
                                              _contact(notice, about, reach, since),
                                              reach.preferences_of(reader(notice.audience, notice.recipient)),
                                              self.enabled, self.templates.render, self.clock())
            inbox.append(message)
            outgoing.extend(deliveries)
        return inbox, outgoing

    async def _store(self, inbox: list[InboxMessage], outgoing: list[Delivery], session: Session) -> None:
        await self.repo.add_inbox(inbox, session)
        await self.store.add(outgoing, session)


def _contact(notice: Notice, application_id: str, reach: Reach, revision: int | None) -> Contact | None:
    """Where ``notice`` goes; None when not known yet. An applicant's contact from an earlier submission than
    the event's is not known yet: the resubmission that may change it is read later (its deliveries wait)."""
    if notice.audience is Audience.PUBLIC:
        return reply_contact(notice.address)
    if notice.audience is Audience.APPLICANT:
        known = reach.contacts.get(application_id)
        return known.contact if known and (revision is None or known.revision >= revision) else None
    return reach.directory.get(_directory_key(notice))


def _directory_key(notice: Notice) -> str:
    """Where the operators' directory keeps a recipient's addresses: an expert id equal to a region code is not
    that department."""
    return reader(Audience.EXPERT, notice.recipient) if notice.audience is Audience.EXPERT else notice.recipient


async def _update(store: Store[M], key: str, session: Session, step: Callable[[M | None], M | None]) -> M | None:
    """Apply ``step`` to the stored record and save it if it changed; return it as it now is."""
    current = await store.get(key, session)
    after = step(current)
    if after is not None and after != current:
        await store.put(key, after, session)
    return after


def lane(topic: str, key: bytes | None) -> Hashable:
    """Which events notify may plan concurrently: an application's events in order, as the consumer's default;
    a round's publicity window is one record that events about several applications update, so its events
    share one lane."""
    if topic in _PUBLICITY_TOPICS:
        return "publicity"
    return by_key(topic, key)


_PUBLICITY_TOPICS = frozenset(model.topic.name for model in PUBLICITY_EVENTS)


def register(consumers: Consumers, uow: UnitOfWork, planner: Planner, metrics: NotifyMetrics) -> None:
    """Subscribe notify's one handler to every event it tells people about."""

    async def plan(event: Event, uow: EventUnit) -> list[Event]:
        """Plan the event's notices (its key stays ``notify.plan``: the handler's name is its idempotency key)."""
        inbox, _ = await planner.plan(event, uow.meta, uow.session)
        uow.after_commit(lambda: metrics.deliveries.labels(Channel.INBOX.value, "sent").inc(len(inbox)))
        return []

    on = consumers.within(uow)
    for model in CONSUMED_EVENTS:
        on(model)(plan)


def timer_event(timer: Due, planner: Planner) -> CloudEvent:
    """The timer as the consumed 'event' of its unit of work: its id is recorded once, like an event's."""
    return CloudEvent(id=timer.id, source="/zhongshi/notify", type=f"cn.gov.hubei.pilot.notify.{timer.kind}.v1",
                      subject=timer.subject, time=planner.clock())


async def due_timers(planner: Planner, days_before: Sequence[int], report_days_before: Sequence[int],
                     report_due: deadlines.MonthDay, rectification_days_before: Sequence[int]) -> list[Due]:
    """Every reminder and escalation due on today's date (Asia/Shanghai), fired or not."""
    today, repo = shanghai_date(planner.clock()), planner.repo
    stages = {s.round_id: s.deadlines for s in await repo.schedules()}
    platforms = await repo.platforms.find(active=True)
    return [*reminders.due(today, stages, await repo.open_cases(), days_before),
            *deadlines.scoring_due(today, await repo.panels.find(open=True), days_before),
            *deadlines.publicity_due(today, await repo.publicity.find(open=True), days_before),
            *deadlines.annual_reports_due(today, platforms, report_due, report_days_before),
            *deadlines.rectifications_due(today, platforms, rectification_days_before)]


async def fire_due_timers(uow: UnitOfWork, planner: Planner, metrics: NotifyMetrics, days_before: Sequence[int],
                          *, report_days_before: Sequence[int] = (30, 7), report_due: deadlines.MonthDay = (3, 31),
                          rectification_days_before: Sequence[int] = (30, 7)) -> int:
    """Fire every reminder and escalation due today that has not fired yet; return how many fired."""
    fired = 0
    for timer in await due_timers(planner, days_before, report_days_before, report_due, rectification_days_before):
        async def work(session: Session, timer: Due = timer) -> list[Event]:
            await planner.fire(timer, session)
            return []

        consumed = Consumed("notify.timer", timer_event(timer, planner), "notify.timers")
        audit = Audit.consumed("notify", consumed, target_kind=f"{timer.deadline_name} {timer.kind.value}",
                               target_id=timer.subject, application_ids=[], outcome="fired",
                               confidential=timer.deadline_name == deadlines.SCORING)  # its id names the expert
        if await uow.run(work, consumed=consumed, audit=audit):
            metrics.reminders.labels(timer.kind.value, timer.deadline_name).inc()
            metrics.deliveries.labels(Channel.INBOX.value, "sent").inc()
            fired += 1
    return fired
