"""The registry's handlers: screened applications feed the pipeline statistics (and withdrawn ones leave
them), forwarded applications leave a public profile (type, clusters, service kinds), review decisions wait
for publicity."""

from __future__ import annotations

from functools import partial

from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationScreened, ApplicationWithdrawn, Event, ScreeningOutcome
from zhongshi_contracts.recommendation import ApplicationForwarded
from zhongshi_contracts.registry import (
    NationalRecommended,
    PlatformAccredited,
    PlatformCultivationListed,
    PlatformRevoked,
    PlatformStandingConfirmed,
    PlatformWarned,
)
from zhongshi_contracts.review import ReviewDecided
from zhongshi_runtime.handling import EventUnit
from zhongshi_runtime.messaging import Consumers
from zhongshi_runtime.outbox import UnitOfWork

from zhongshi_registry.domain import DecisionRecord, Profile
from zhongshi_registry.facts import ForwardedFacts, ScreenedFacts
from zhongshi_registry.repository import Candidacy, RegistryPort


def profile_of(event: ApplicationForwarded | ForwardedFacts) -> Profile:
    platform = event.dossier.platform
    return Profile(application_id=event.application_id, round_id=event.round_id,
                   platform_type=platform.platform_type, clusters=platform.clusters,
                   service_kinds=platform.service_kinds, equipment_original_value=platform.equipment_original_value,
                   professionals=platform.professionals.total)


def candidacy_of(event: ApplicationScreened | ScreenedFacts, before: Candidacy | None = None) -> Candidacy:
    """A candidate of its city unless ineligible; a withdrawal that arrived first still holds (the two topics
    are consumed apart)."""
    return Candidacy(round_id=event.round_id, city_code=event.city_code,
                     candidate=event.outcome is not ScreeningOutcome.INELIGIBLE,
                     withdrawn=before is not None and before.withdrawn)


def withdrawal_of(event: ApplicationWithdrawn, before: Candidacy | None) -> Candidacy:
    """No city's candidate any more; a withdrawal before screening is kept for the screening that may follow."""
    found = before or Candidacy(round_id=event.round_id, city_code=event.city_code, candidate=False)
    return found.model_copy(update={"withdrawn": True})


def decision_of(event: ReviewDecided) -> DecisionRecord:
    return DecisionRecord.model_validate(event.model_dump(include=set(DecisionRecord.model_fields)))


ENTRY_EVENTS: tuple[type[Event], ...] = (PlatformAccredited, PlatformCultivationListed, PlatformStandingConfirmed,
                                         PlatformWarned, PlatformRevoked, NationalRecommended)


def register(consumers: Consumers, uow: UnitOfWork, repo: RegistryPort) -> None:
    """The registry's handlers; ``uow`` drops the read cache after each (see `cache.Invalidating`)."""

    async def on_entry_changed(event: Event, meta: CloudEvent) -> None:
        """The registry's own events: a change another replica committed reaches this replica's cache here (no
        unit of work: nothing is written, so a raw subscriber)."""
        repo.cache.invalidate()

    for model in ENTRY_EVENTS:
        consumers.on(model)(on_entry_changed)

    on = consumers.within(uow)

    @on(ApplicationScreened)
    async def on_screened(event: ApplicationScreened, uow: EventUnit) -> list[Event]:
        await repo.fold_candidacy(event.application_id, partial(candidacy_of, event), uow.session)
        return []

    @on(ApplicationWithdrawn)
    async def on_withdrawn(event: ApplicationWithdrawn, uow: EventUnit) -> list[Event]:
        await repo.fold_candidacy(event.application_id, partial(withdrawal_of, event), uow.session)
        return []

    @on(ApplicationForwarded)
    async def on_forwarded(event: ApplicationForwarded, uow: EventUnit) -> list[Event]:
        await repo.keep_profile(profile_of(event), uow.session)
        return []

    @on(ReviewDecided)
    async def on_decided(event: ReviewDecided, uow: EventUnit) -> list[Event]:
        await repo.record_decision(decision_of(event), uow.session)
        return []
