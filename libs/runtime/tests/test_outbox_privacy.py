"""An event with personal data is stored twice in the one outbox transaction: whole for its internal topic,
projected for its public topic — so the public copy is as durable (at least once) as the event itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import Event
from zhongshi_contracts.projections import public_event_id
from zhongshi_contracts.registry import ObjectionResolved
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import Consumed, MongoUnitOfWork, Session

pytestmark = pytest.mark.integration


async def test_an_event_with_personal_data_goes_whole_to_its_internal_topic_and_projected_to_the_public_one(
    mongo_db: Any,
) -> None:
    uow = MongoUnitOfWork(mongo_db.client, mongo_db, source="/zhongshi/probe", metrics=RuntimeMetrics("probe"),
                          on_outbox=lambda: None)
    event = ObjectionResolved(application_id="R1", round_id="R1", objection_id="OBJ-1", objected_application_id="A1",
                              upheld=False, reason="理由不成立", resolved_at=datetime.now(UTC), reply_to="13912345678")

    async def work(_: Session) -> list[Event]:
        return [event]

    trigger = CloudEvent.new(event.topic, source="/test", subject="R1")
    assert await uow.run(work, consumed=Consumed("probe.on_something", trigger, event.topic.name)) is True
    records = {r["topic"]: r async for r in mongo_db.outbox.find({})}
    assert set(records) == {"pilot.internal.publicity.objection-resolved", "pilot.publicity.objection-resolved"}
    internal = records["pilot.internal.publicity.objection-resolved"]
    public = records["pilot.publicity.objection-resolved"]
    assert json.loads(internal["value"])["reply_to"] == "13912345678"
    assert internal["headers"]["ce_type"] == "cn.gov.hubei.pilot.publicity.objection-resolved.v1"
    assert "13912345678" not in public["value"] and json.loads(public["value"])["objection_id"] == "OBJ-1"
    assert public["headers"]["ce_type"] == "cn.gov.hubei.pilot.publicity.objection-resolved.v2"
    assert public["key"] == internal["key"] == "R1" and public["seq"] > internal["seq"]  # relayed in order
    assert public["_id"] == public["headers"]["ce_id"] == public_event_id(internal["_id"])  # a webhook's id too
