"""The registry's handlers: screened applications feed the pipeline statistics, forwarded applications
leave a public profile (type, clusters, service kinds), review decisions wait for publicity."""

from __future__ import annotations

from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationScreened, Event, ScreeningOutcome
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


def candidacy_of(event: ApplicationScreened | ScreenedFacts) -> Candidacy:
    return Candidacy(round_id=event.round_id, city_code=event.city_code,
                     candidate=event.outcome is not ScreeningOutcome.INELIGIBLE)


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
        await repo.record_candidacy(event.application_id, candidacy_of(event), uow.session)
        return []

    @on(ApplicationForwarded)
    async def on_forwarded(event: ApplicationForwarded, uow: EventUnit) -> list[Event]:
        await repo.keep_profile(profile_of(event), uow.session)
        return []

    @on(ReviewDecided)
    async def on_decided(event: ReviewDecided, uow: EventUnit) -> list[Event]:
        await repo.record_decision(decision_of(event), uow.session)
        return []
