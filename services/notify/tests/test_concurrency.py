"""Notify planning several applications at once: a batch handled in concurrent lanes ends in the same
notices, deliveries and cases as handling its records one by one, in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zhongshi_contracts.dossier import Dossier
from zhongshi_notify import handlers
from zhongshi_notify.settings import NotifySettings
from zhongshi_runtime.messaging import one_record
from zhongshi_runtime.testing import envelope

from .samples import recommended, returned, screened, submitted
from .test_handlers import NotifyHarness, new_harness


class Batch:
    def __init__(self, records: list[Any]) -> None:
        self.raw_message, self.consumer = tuple(records), None


class Record:
    def __init__(self, offset: int, published: dict[str, Any]) -> None:
        self.topic, self.partition, self.offset = published["topic"], 0, offset
        self.key, self.value = published["key"], published["message"]
        self.headers = [(k, v.encode()) for k, v in published["headers"].items()]


def round_of(make_dossier: Callable[..., Dossier], apps: int) -> list[Record]:
    """Each application submitted, screened, recommended, returned — the applications interleaved."""
    per_app = []
    for n in range(apps):
        d, app = make_dossier(), f"A{n}"
        per_app.append([submitted(d, app_id=app), screened(d, app_id=app), recommended(d, app_id=app),
                        returned(d, app_id=app)])
    events = [e for step in zip(*per_app, strict=True) for e in step]
    return [Record(i, envelope(e)) for i, e in enumerate(events)]


async def state(h: NotifyHarness) -> dict[str, Any]:
    return {"inbox": sorted((m.id, m.title) for m in h.repo.messages.values()),
            "deliveries": sorted((d.id, d.status, d.address) for d in await h.store.deliveries()),
            "cases": {k: c.stage for k, c in h.repo.cases.items()}}


async def test_concurrent_lanes_plan_what_one_at_a_time_plans(make_dossier: Callable[..., Dossier]) -> None:
    records = round_of(make_dossier, apps=6)
    serial = new_harness()
    for record in records:
        await serial.consumers.dispatch(_one(record))
    concurrent = new_harness()
    concurrent.consumers.lane = handlers.lane
    assert concurrent.consumers.settings.consumer_concurrency > 1  # notify's default
    await concurrent.consumers.dispatch_batch(Batch(records))  # type: ignore[arg-type]
    assert await state(concurrent) == await state(serial)
    assert {c.value for c in (await state(concurrent))["cases"].values()} == {"returned"}


def _one(record: Record) -> Any:
    return one_record(record, Batch([record]))  # type: ignore[arg-type]


def test_a_rounds_publicity_events_share_one_lane_and_applications_have_their_own() -> None:
    assert handlers.lane("pilot.publicity.opened", b"R1") == handlers.lane("pilot.publicity.objection-filed", b"A7")
    assert handlers.lane("pilot.application.screened", b"A1") != handlers.lane("pilot.application.screened", b"A2")
    assert NotifySettings().consumer_concurrency > 1
