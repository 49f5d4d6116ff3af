"""The review service factory."""

from __future__ import annotations

from fastapi import FastAPI
from zhongshi_contracts.review import AssignmentDeclined, PanelDrawn, ReviewDecided, Scored
from zhongshi_runtime.clock import Clock, utc_now
from zhongshi_runtime.service import ServiceKit

from zhongshi_review import api, api_draws, api_review, handlers
from zhongshi_review.metrics import ReviewMetrics
from zhongshi_review.repository import ReviewRepository, ensure_indexes
from zhongshi_review.service import Deps
from zhongshi_review.settings import ReviewSettings


def create_app(settings: ReviewSettings | None = None, clock: Clock = utc_now) -> FastAPI:
    settings = settings or ReviewSettings()
    kit = ServiceKit(
        settings, title="zhongshi review",
        description="Expert pool, conflict-free panels, scoring, ranking and the round's decisions.",
        produces=[PanelDrawn, AssignmentDeclined, Scored, ReviewDecided],
    )
    repo = ReviewRepository.mongo(kit.db)
    kit.on_startup(lambda: ensure_indexes(kit.db))
    handlers.register(kit.consumers, kit.uow, repo)
    app = kit.asgi([api.router, api_draws.router, api_review.router])
    app.state.deps = Deps(repo, kit.uow, clock, ReviewMetrics(kit.metrics.registry))
    return app
