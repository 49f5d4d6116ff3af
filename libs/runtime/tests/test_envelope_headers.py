"""A message whose handler succeeded is never dead-lettered for its envelope: a naive or odd ``ce_time`` and
malformed headers are read safely (issue 18, item 11)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import TestKafkaBroker
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationWithdrawn
from zhongshi_runtime.messaging import readable_headers, unreadable_headers
from zhongshi_runtime.settings import ServiceSettings
from zhongshi_runtime.testing import HandlerHarness, envelope

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
WITHDRAWN = ApplicationWithdrawn(application_id="A1", round_id="R1", revision=1, withdrawn_at=NOW, reason="",
                                 applicant_credit_code="91420111MA0000000W", region_code="420111",
                                 city_code="420100")


def harness() -> tuple[HandlerHarness, list[str]]:
    h = HandlerHarness(ServiceSettings(handler_retry_backoff_s=0))
    calls: list[str] = []

    @h.consumers.on(ApplicationWithdrawn)
    async def handle(event: ApplicationWithdrawn, meta: CloudEvent) -> None:
        calls.append(meta.id)

    return h, calls


@pytest.mark.parametrize("ce_time", ["2026-11-27T10:00:00", "2026-11-27 10:00:00.123456", "2026-11-27T10:00:00+08:00"])
async def test_a_naive_or_offset_ce_time_is_handled_once_and_not_dead_lettered(ce_time: str) -> None:
    h, calls = harness()
    async with TestKafkaBroker(h.ready()) as broker:
        await broker.publish(**envelope(WITHDRAWN, ce_time=ce_time))
    assert len(calls) == 1 and h.dead_letters == []


@pytest.mark.parametrize("headers", [
    {"ce_time": "yesterday"}, {"ce_time": ""}, {"ce_id": ""}, {"ce_id": "x" * 10_000}, {"ce_time": "9" * 400},
    {"ce_time": "2026-13-45T99:00:00Z"}, {"ce_specversion": "0.3"}, {"ce_subject": "\x00\u202e"},
])
async def test_a_malformed_envelope_goes_to_the_dlq_as_invalid_without_calling_the_handler(headers: Any) -> None:
    h, calls = harness()
    async with TestKafkaBroker(h.ready()) as broker:
        await broker.publish(**envelope(WITHDRAWN, **headers))
    assert calls == [] and [d[1]["dlq_kind"] for d in h.dead_letters] == ["invalid"]


def test_naive_times_are_read_as_utc_and_written_with_an_offset() -> None:
    meta = CloudEvent.from_headers({"ce_id": "e1", "ce_source": "/s", "ce_type": "t", "ce_subject": "A1",
                                    "ce_time": "2026-11-27T10:00:00"})
    assert meta.time == datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert meta.headers()["ce_time"] == "2026-11-27T10:00:00Z"


async def test_a_header_that_is_not_utf_8_is_read_with_replacements_and_named_as_unreadable() -> None:
    """FastStream decodes headers strictly before any handler; `readable_headers` hands it readable copies and
    keeps the records as they came, for `Consumers._parse` to dead-letter the unreadable one."""
    good = ConsumerRecord(topic="t", partition=0, offset=1, timestamp=0, timestamp_type=0, key=b"A1", value=b"{}",
                          checksum=None, serialized_key_size=2, serialized_value_size=2, headers=[("ce_id", b"e1")])
    bad = replace(good, offset=2, headers=[("ce_id", b"e2"), ("x-note", "备注".encode("gb18030"))])
    seen: list[Any] = []

    async def strict(records: Any) -> Any:  # as FastStream's parser reads a batch
        seen.append(records)
        return SimpleNamespace(headers=[{k: v.decode() for k, v in r.headers} for r in records], raw_message=None)

    msg = await readable_headers((good, bad), strict)
    assert msg.raw_message == (good, bad) and seen[0][0] is good  # the readable record is not copied
    assert msg.headers[1]["x-note"] == "备注".encode("gb18030").decode(errors="replace")
    assert unreadable_headers(bad) == ["x-note"] and unreadable_headers(good) == []
