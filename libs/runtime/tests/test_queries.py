"""Long lists of ids go to the database a batch at a time (the embedded database slows with the square of an
`$in`'s length), and nothing is left out on the way."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from zhongshi_runtime import testing
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import OutboxRelay
from zhongshi_runtime.queries import IDS_PER_QUERY
from zhongshi_runtime.store import MongoStore
from zhongshi_runtime.testing import Commands, CountingBroker

pytestmark = pytest.mark.integration


def asked(commands: Commands) -> list[int]:
    """The number of ids each `$in` on ``_id`` asked for."""
    return [len(f["_id"]["$in"]) for sent in commands.sent for f in sent.filters
            if isinstance(f.get("_id"), dict) and "$in" in f["_id"]]


class Sheet(BaseModel):
    total: int


@pytest.fixture
def watched(mongo_db: Any, scratch_uri: str) -> tuple[Any, Commands]:
    return testing.watched(scratch_uri, mongo_db.name)


async def test_many_reads_every_stored_key_a_batch_of_ids_at_a_time(watched: tuple[Any, Commands]) -> None:
    db, commands = watched
    store = MongoStore(db, "sheets", Sheet)
    await db.sheets.insert_many([{"_id": f"s{n:03d}", "total": n} for n in range(230)])
    found = await store.many(f"s{n:03d}" for n in range(250))
    assert sorted(found) == [f"s{n:03d}" for n in range(230)] and found["s229"] == Sheet(total=229)
    assert asked(commands) == [IDS_PER_QUERY, IDS_PER_QUERY, 50]


async def test_the_relay_marks_a_whole_batch_published_a_batch_of_ids_at_a_time(watched: tuple[Any, Commands]) -> None:
    db, commands = watched
    await db.outbox.insert_many([{"_id": f"e{n}", "seq": n, "topic": "pilot.application.submitted", "key": f"A{n}",
                                  "headers": {}, "value": "{}", "published_at": None} for n in range(250)])
    broker = CountingBroker()
    relay = OutboxRelay(db, broker, metrics=RuntimeMetrics("probe"), retention=timedelta(days=1),  # type: ignore[arg-type]
                        logger=logging.getLogger("test"))
    assert await relay.publish_pending() == 250 and broker.sent == 250
    assert await db.outbox.count_documents({"published_at": None}) == 0
    assert max(asked(commands)) <= IDS_PER_QUERY and sum(asked(commands)) == 250
