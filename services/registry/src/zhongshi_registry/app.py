"""The registry service factory: publicity and objections, accredited platforms and cultivation objects,
verifiable certificates, the lifecycle of platforms, public data and officials' exports."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import FastAPI
from zhongshi_contracts.registry import (
    AnnualReportFiled,
    NationalRecommended,
    ObjectionResolved,
    PlatformAccredited,
    PlatformCultivationListed,
    PlatformRevoked,
    PlatformStandingConfirmed,
    PlatformWarned,
    PublicityClosed,
    PublicityObjectionFiled,
    PublicityOpened,
)
from zhongshi_runtime.clock import Clock, DevelopmentClock, utc_now
from zhongshi_runtime.retention import Rule
from zhongshi_runtime.service import ServiceKit

from zhongshi_registry import api_dev, api_exports, api_lifecycle, api_objections, api_public, api_publicity, handlers
from zhongshi_registry.cache import Invalidating
from zhongshi_registry.certificates import Signer
from zhongshi_registry.entries import Thresholds
from zhongshi_registry.metrics import RegistryMetrics
from zhongshi_registry.repository import RegistryRepository, ensure_indexes, ensure_statistics
from zhongshi_registry.settings import RegistrySettings
from zhongshi_registry.use_cases import Deps

PRODUCES = (PublicityOpened, PublicityObjectionFiled, ObjectionResolved, PublicityClosed, PlatformAccredited,
            PlatformCultivationListed, AnnualReportFiled, PlatformStandingConfirmed, PlatformWarned, PlatformRevoked,
            NationalRecommended)


def thresholds_of(settings: RegistrySettings) -> Thresholds:
    return Thresholds(equipment_value=settings.threshold_equipment_value, staff=settings.threshold_staff,
                      service_revenue=settings.threshold_service_revenue,
                      technology_transfers=settings.threshold_technology_transfers)


def create_app(settings: RegistrySettings | None = None, clock: Clock = utc_now,
               signer: Signer | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    kit = ServiceKit(settings, title="zhongshi registry", produces=PRODUCES,
                     description="Publicity, accredited platforms, cultivation objects, certificates, public data.")
    repo = RegistryRepository.mongo(kit.db)
    repo.cache.keep_s = settings.public_cache_keep_s

    @cache
    def signing_key() -> Signer:
        return signer or Signer.from_file(Path(settings.certificate_key_file),
                                          create=settings.environment == "development",
                                          retired_dir=Path(settings.certificate_retired_keys_dir))

    async def load_key() -> None:
        signing_key()  # fail at start-up, not at the first certificate, when the key is missing

    kit.on_startup(lambda: ensure_indexes(kit.db))
    kit.on_startup(lambda: ensure_statistics(repo))
    uow = Invalidating(kit.uow, repo.cache)
    kit.retention.keep(Rule("objections", "resolved_at", settings.objector_retention_days, stored_as_text=True,
                            where={"status": {"$ne": "pending"}, "contact": {"$ne": ""}},
                            blank={"name": "（已按保存期限删除）", "contact": ""}))
    kit.on_startup(load_key)
    handlers.register(kit.consumers, uow, repo)
    progress = RegistryMetrics(kit.metrics.registry)
    kit.every(15, lambda: progress.refresh(repo))
    machine = None
    if settings.environment == "development":
        clock = DevelopmentClock(clock)
        machine = api_dev.TimeMachine(kit.db, clock, kit.uow)
        kit.on_startup(machine.restore)
    app = kit.asgi([api_public.router, *([api_dev.router] if machine else []), api_publicity.router,
                    api_objections.router, api_lifecycle.router, api_exports.router])
    app.state.deps = Deps.build(repo, uow, clock, settings, signing_key, thresholds_of(settings))
    app.state.time_machine = machine
    return app
