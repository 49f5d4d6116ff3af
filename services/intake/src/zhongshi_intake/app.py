"""The intake service factory."""

from __future__ import annotations

from fastapi import FastAPI
from zhongshi_contracts.events import ApplicationSubmitted, ApplicationWithdrawn
from zhongshi_runtime.clock import Clock, utc_now
from zhongshi_runtime.service import ServiceKit

from zhongshi_intake import api, api_materials, handlers
from zhongshi_intake.domain import MaterialsMissing
from zhongshi_intake.material_store import MaterialStore
from zhongshi_intake.materials import Materials
from zhongshi_intake.metrics import IntakeMetrics
from zhongshi_intake.repository import MongoIntakeRepository
from zhongshi_intake.service import Deps
from zhongshi_intake.settings import IntakeSettings
from zhongshi_intake.sniff import Refused


def create_app(settings: IntakeSettings | None = None, clock: Clock = utc_now) -> FastAPI:
    settings = settings or IntakeSettings()
    kit = ServiceKit(
        settings, title="zhongshi intake",
        description="Rounds (批次), applications (申报) and the applicant's status timeline.",
        produces=[ApplicationSubmitted, ApplicationWithdrawn],
    )
    repo = MongoIntakeRepository(kit.db)
    store = MaterialStore(kit.db)
    kit.on_startup(repo.ensure_indexes)
    kit.on_startup(store.ensure_indexes)
    handlers.register(kit.consumers, kit.uow, repo, store)
    materials = Materials(repo=repo, store=store, uow=kit.uow, clock=clock, settings=settings)
    app = kit.asgi([api.router, api_materials.limited(settings.material_max_bytes), api_materials.router])
    app.state.deps = Deps(repo, kit.uow, clock, IntakeMetrics(kit.metrics.registry), materials)
    app.add_exception_handler(MaterialsMissing, api_materials.materials_missing)
    app.add_exception_handler(Refused, api_materials.file_refused)
    return app
