"""Intake's replay. An application is written by its applicant's requests (drafts, edits, uploads), so the
replay starts from each application as those requests left it, with its timeline emptied and its status
back to draft; then it folds intake's own events (submitted, withdrawn) through the same decide functions
the requests use, and every downstream event through the live handlers, in the order they happened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from zhongshi_contracts import topics
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationSubmitted, ApplicationWithdrawn, Event
from zhongshi_runtime.messaging import Consumers, Rejected
from zhongshi_runtime.outbox import Consumed, Session, UnitOfWork
from zhongshi_runtime.rebuild import Database, Scope

from zhongshi_intake import domain, handlers
from zhongshi_intake.domain import Application
from zhongshi_intake.material_store import MaterialStore
from zhongshi_intake.repository import IntakeRepository, MongoIntakeRepository

OWN = frozenset({topics.APPLICATION_SUBMITTED.name, topics.APPLICATION_WITHDRAWN.name})


def before_events(doc: dict[str, Any]) -> dict[str, Any]:
    """An application as the applicant's requests left it, before any submission: what events add is gone."""
    return {**doc, "status": domain.Status.DRAFT.value, "revision": 0, "chain_step": 0, "timeline": []}


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """A submission's or withdrawal's timeline step names an id the request made up, not the event's; and the
    status beside a step is the application's once that step arrived, which depends on the order events of
    different topics arrived in (a recommendation and its forwarding can come either way round). The
    application's own status, which the lifecycle makes order-independent, is compared."""
    steps = [{k: v for k, v in s.items() if k != "status"} for s in doc.get("timeline", [])]
    steps = [{**s, "event_id": ""} if s.get("event_type") in OWN else s for s in steps]
    return {**doc, "timeline": steps}


SCOPE = Scope(
    service="intake",
    compared={"applications": frozenset({"version", "updated_at"}), "rule_sets": frozenset(),
              "assignments": frozenset()},
    left_out={
        "applications (dossier, materials, drafts)": "the applicant's requests: taken from the live database",
        "applications (updated_at)": "the last request's time; an edit after a return is in no event",
        "applications (timeline step status)": "the status once the step arrived: depends on arrival order",
        "rounds": "opened by the province's requests: taken from the live database",
        "materials": "uploaded files and their records: requests, never in an event",
    },
    reference={"applications": before_events, "rounds": None},
    normalise={"applications": comparable},
)


async def wire(consumers: Consumers, uow: UnitOfWork, db: Database) -> None:
    """Intake's live handler registration, and its own events folded through the requests' decide functions."""
    repo, store = MongoIntakeRepository(db), MaterialStore(db)
    await repo.ensure_indexes()
    await store.ensure_indexes()
    handlers.register(consumers, uow, repo, store)
    own(consumers, uow, repo)


def own(consumers: Consumers, uow: UnitOfWork, repo: IntakeRepository) -> None:
    """A submission and a withdrawal, as `domain.submit` and `domain.withdraw` made them."""

    async def fold(event: Event, meta: CloudEvent, step: Callable[[Application], Awaitable[Application]]) -> None:
        async def work(session: Session) -> list[Event]:
            app = await repo.get(event.application_id, session)
            if app is None:
                raise Rejected(f"application {event.application_id} is not in the live database (deleted?)")
            try:
                await repo.save(await step(app), session)
            except (domain.TransitionRefused, domain.MaterialsMissing) as exc:  # the request was refused then too
                raise Rejected(f"{event.topic.name} of {event.application_id}: {exc}") from exc
            return []  # the event is in the log already: nothing to publish

        await uow.run(work, consumed=Consumed(f"intake.replay.{event.topic.name}", meta, event.topic.name, event))

    @consumers.on(ApplicationSubmitted)
    async def on_submitted(event: ApplicationSubmitted, meta: CloudEvent) -> None:
        async def step(app: Application) -> Application:
            round_ = await repo.round(app.round_id)
            if round_ is None:
                raise Rejected(f"round {app.round_id} is not in the live database")
            return domain.submit(app, round_, now=event.submitted_at, event_id=meta.id)[0]

        await fold(event, meta, step)

    @consumers.on(ApplicationWithdrawn)
    async def on_withdrawn(event: ApplicationWithdrawn, meta: CloudEvent) -> None:
        async def step(app: Application) -> Application:
            return domain.withdraw(app, reason=event.reason, now=event.withdrawn_at, event_id=meta.id)[0]

        await fold(event, meta, step)
