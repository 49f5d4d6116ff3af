"""The registry service factory. Publicity and the registry land with their own issue; today the
service serves the public progress toward the 2030 targets and the candidate pipeline by city."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationScreened, Event, ScreeningOutcome
from zhongshi_contracts.reference import hubei_cities
from zhongshi_runtime.outbox import Consumed, Session
from zhongshi_runtime.service import ServiceKit

from zhongshi_registry.settings import RegistrySettings

TARGET_PROVINCIAL, TARGET_NATIONAL = 200, 1  # DIGEST §1, by 2030


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    kit = ServiceKit(settings, title="zhongshi registry",
                     description="Publicity, accredited platforms, cultivation objects, certificates, public data.")

    @kit.consumers.on(ApplicationScreened)
    async def on_screened(event: ApplicationScreened, meta: CloudEvent) -> None:
        async def work(session: Session) -> list[Event]:
            candidate = event.outcome is not ScreeningOutcome.INELIGIBLE
            await kit.db.pipeline.replace_one(
                {"_id": event.application_id},
                {"round_id": event.round_id, "city_code": event.city_code, "candidate": candidate},
                upsert=True, session=session,
            )
            return []

        await kit.uow.run(work, consumed=Consumed("registry.on_screened", meta, event.topic.name))

    public = APIRouter(prefix="/api/v1/public", tags=["public"])

    @public.get("/stats", summary="Progress toward the 2030 targets (no login)")
    async def stats() -> dict[str, Any]:
        cities = hubei_cities()
        pipeline = {
            row["_id"]: row["n"]
            async for row in await kit.db.pipeline.aggregate(
                [{"$match": {"candidate": True}}, {"$group": {"_id": "$city_code", "n": {"$sum": 1}}}]
            )
        }
        return {
            "targets": {"provincial": TARGET_PROVINCIAL, "national": TARGET_NATIONAL, "by": 2030},
            "accredited": {"provincial": 0, "national": 0},
            "candidates_by_city": [
                {"city_code": code, "city_name": cities[code], "candidates": pipeline.get(code, 0)}
                for code in sorted(cities)
            ],
        }

    return kit.asgi([public])
