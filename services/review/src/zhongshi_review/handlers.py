"""Review's handlers: forwarded applications become candidates; exception decisions and withdrawals
change whether they can be reviewed."""

from __future__ import annotations

from zhongshi_contracts.events import ApplicationWithdrawn, Event
from zhongshi_contracts.recommendation import ApplicationExceptionDecided, ApplicationForwarded
from zhongshi_runtime.handling import EventUnit
from zhongshi_runtime.messaging import Consumers
from zhongshi_runtime.outbox import Session, UnitOfWork

from zhongshi_review.domain import Candidate
from zhongshi_review.records import CandidateNote
from zhongshi_review.repository import ReviewRepository


def candidate_of(event: ApplicationForwarded) -> Candidate:
    return Candidate(
        id=event.application_id, round_id=event.round_id, revision=event.revision,
        applicant_name=event.applicant_name, applicant_credit_code=event.applicant_credit_code,
        platform_name=event.platform_name, region_code=event.region_code, city_code=event.city_code,
        priority=event.priority, forwarded_at=event.acted_at, awaiting_exception=bool(event.flagged),
        dossier=event.dossier, clauses=event.clauses, opinions=event.opinions,
    )


def with_note(candidate: Candidate, note: CandidateNote | None) -> Candidate:
    """Apply what is known from other topics: exception decisions and withdrawals."""
    if note is None:
        return candidate
    return candidate.model_copy(update={
        "awaiting_exception": candidate.awaiting_exception and note.exception_approved is None,
        "declined_by_province": note.exception_approved is False,
        "withdrawn": note.withdrawn,
    })


async def noted(repo: ReviewRepository, application_id: str, session: Session, **change: object) -> None:
    """Keep what another topic says about an application, and apply it to its candidate if known."""
    await repo.take_turn(application_id, session)  # the forwarded handler reads the note and writes the candidate
    note = (await repo.note(application_id, session) or CandidateNote()).model_copy(update=change)
    await repo.save_note(application_id, note, session)
    known = await repo.candidate(application_id, session)
    if known is not None:
        await repo.save_candidate(with_note(known, note), session)


def register(consumers: Consumers, uow: UnitOfWork, repo: ReviewRepository) -> None:
    """Subscribe review's handlers."""
    on = consumers.within(uow)

    @on(ApplicationForwarded)
    async def on_forwarded(event: ApplicationForwarded, uow: EventUnit) -> list[Event]:
        await repo.take_turn(event.application_id, uow.session)
        note = await repo.note(event.application_id, uow.session)
        await repo.save_candidate(with_note(candidate_of(event), note), uow.session)
        return []

    @on(ApplicationExceptionDecided)
    async def on_exception_decided(event: ApplicationExceptionDecided, uow: EventUnit) -> list[Event]:
        await noted(repo, event.application_id, uow.session, exception_approved=event.approved)
        return []

    @on(ApplicationWithdrawn)
    async def on_withdrawn(event: ApplicationWithdrawn, uow: EventUnit) -> list[Event]:
        await noted(repo, event.application_id, uow.session, withdrawn=True)
        return []
