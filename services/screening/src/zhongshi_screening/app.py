"""The screening service factory."""

from __future__ import annotations

from fastapi import FastAPI
from zhongshi_contracts.events import ApplicationScreened, RuleSetPublished
from zhongshi_contracts.recommendation import (
    ApplicationExceptionDecided,
    ApplicationForwarded,
    ApplicationRecommended,
    ApplicationRejected,
    ApplicationReturned,
    RoundScheduled,
)
from zhongshi_runtime.clock import Clock, utc_now
from zhongshi_runtime.service import ServiceKit

from zhongshi_screening import api, chain_api, handlers, service
from zhongshi_screening.metrics import ChainMetrics, ScreeningMetrics
from zhongshi_screening.repository import MongoScreeningRepository
from zhongshi_screening.rules import DEFAULT_RULE_SET
from zhongshi_screening.service import Deps
from zhongshi_screening.settings import ScreeningSettings


def create_app(settings: ScreeningSettings | None = None, clock: Clock = utc_now) -> FastAPI:
    settings = settings or ScreeningSettings()
    kit = ServiceKit(
        settings, title="zhongshi screening",
        description="Checks each submitted application against its round's rule set (C1–C9, "
                    "《湖北省制造业中试平台培育建设工作指引》五、条件要求).",
        produces=[ApplicationScreened, ApplicationRecommended, ApplicationReturned, ApplicationRejected,
                  ApplicationForwarded, ApplicationExceptionDecided, RoundScheduled, RuleSetPublished],
    )
    repo = MongoScreeningRepository(kit.db)

    async def prepare() -> None:
        await repo.ensure_indexes()
        await repo.add_rule_set(DEFAULT_RULE_SET)
        await service.announce_rule_sets(repo, kit.uow, clock)

    kit.on_startup(prepare)
    handlers.register(kit.consumers, kit.uow, repo, ScreeningMetrics(kit.metrics.registry), clock)
    chain_metrics = ChainMetrics(kit.metrics.registry)
    kit.every(15, lambda: chain_api.refresh_gauges(repo, chain_metrics, clock))
    app = kit.asgi([api.router, chain_api.router])
    app.state.deps = Deps(repo, kit.uow, clock, chain_metrics)
    return app
