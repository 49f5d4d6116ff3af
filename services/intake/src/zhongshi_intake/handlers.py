"""Intake's handlers: downstream events become steps of the applicant's timeline."""

from __future__ import annotations

from collections.abc import Callable

from zhongshi_contracts.events import ApplicationScreened, Event, RuleSetPublished
from zhongshi_contracts.recommendation import (
    ApplicationExceptionDecided,
    ApplicationForwarded,
    ApplicationRecommended,
    ApplicationRejected,
    ApplicationReturned,
    ChainStep,
)
from zhongshi_contracts.registry import PlatformAccredited, PlatformCultivationListed, PublicityClosed
from zhongshi_contracts.review import AssignmentDeclined, PanelDrawn, ReviewDecided
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.handling import EventUnit
from zhongshi_runtime.messaging import Consumers, Rejected
from zhongshi_runtime.outbox import Consumed, UnitOfWork

from zhongshi_intake.domain import (
    Application,
    record_chain_step,
    record_decision,
    record_listing,
    record_objection_upheld,
    record_panel,
    record_screening,
)
from zhongshi_intake.material_store import MaterialStore
from zhongshi_intake.repository import IntakeRepository

CHAIN_STEPS: tuple[type[ChainStep], ...] = (
    ApplicationRecommended, ApplicationReturned, ApplicationRejected, ApplicationForwarded,
    ApplicationExceptionDecided,
)


async def record(repo: IntakeRepository, event: Event, uow: EventUnit,
                 change: Callable[[Application, str], Application]) -> list[Event]:
    """Apply ``change`` to the event's application once per event id (its timeline remembers the ids)."""
    app = await repo.get(event.application_id, uow.session)
    if app is None:
        raise Rejected(f"application {event.application_id} is unknown to intake")
    if not app.has_event(uow.meta.id):
        await repo.save(change(app, uow.meta.id), uow.session)
    return []


def declined_audit(consumed: Consumed) -> Audit:
    """The audit of a closed publicity names the applications an upheld objection declined."""
    decisions = consumed.about.decisions if isinstance(consumed.about, PublicityClosed) else []
    declined = [d.application_id for d in decisions if d.changed_by_objection]
    return Audit.consumed("intake", consumed, application_ids=declined)


def register(consumers: Consumers, uow: UnitOfWork, repo: IntakeRepository, store: MaterialStore | None = None
             ) -> None:
    """Subscribe intake's handlers; with a material ``store``, also who is assigned to review what."""
    on = consumers.within(uow)

    @on(ApplicationScreened)
    async def on_screened(event: ApplicationScreened, uow: EventUnit) -> list[Event]:
        return await record(repo, event, uow, lambda app, id_: record_screening(app, event, event_id=id_))

    async def on_chain_step(event: ChainStep, uow: EventUnit) -> list[Event]:
        return await record(repo, event, uow, lambda app, id_: record_chain_step(app, event, event_id=id_))

    for step in CHAIN_STEPS:
        on(step)(on_chain_step)

    @on(PanelDrawn)
    async def on_panel_drawn(event: PanelDrawn, uow: EventUnit) -> list[Event]:
        """The timeline learns a panel was formed; the material store, which experts may read the materials."""
        for expert in event.experts if store else ():
            await store.assign(event.application_id, expert, uow.session)  # type: ignore[union-attr]
        return await record(repo, event, uow, lambda app, id_: record_panel(app, event, event_id=id_))

    if store is not None:
        @on(AssignmentDeclined)
        async def on_assignment_declined(event: AssignmentDeclined, uow: EventUnit) -> list[Event]:
            """A declining expert loses access to the materials; the replacement gains it."""
            await store.decline(event.application_id, event.expert_id, uow.session)
            if event.replacement:
                await store.assign(event.application_id, event.replacement, uow.session)
            return []

    @on(ReviewDecided)
    async def on_decided(event: ReviewDecided, uow: EventUnit) -> list[Event]:
        return await record(repo, event, uow, lambda app, id_: record_decision(app, event, event_id=id_))

    async def on_listed(event: PlatformAccredited | PlatformCultivationListed, uow: EventUnit) -> list[Event]:
        return await record(repo, event, uow, lambda app, id_: record_listing(app, event, event_id=id_))

    on(PlatformAccredited)(on_listed)
    on(PlatformCultivationListed)(on_listed)

    @on(RuleSetPublished)
    async def on_rule_set_published(event: RuleSetPublished, uow: EventUnit) -> list[Event]:
        """A round may name this version from now on (rule sets live in screening; intake keeps their names)."""
        await repo.learn_rule_set(event.version, uow.session)
        return []

    @on(PublicityClosed, audit=declined_audit)
    async def on_publicity_closed(event: PublicityClosed, uow: EventUnit) -> list[Event]:
        """Keyed by the round: the applications an upheld objection declined (the others arrive as listings)."""
        for decision in event.decisions:
            app = await repo.get(decision.application_id, uow.session) if decision.changed_by_objection else None
            if app is not None and not app.has_event(uow.meta.id):
                await repo.save(record_objection_upheld(app, event, event_id=uow.meta.id), uow.session)
        return []
