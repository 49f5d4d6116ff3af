"""Upcasters give a record of an older ``ce_type`` version a path to the model read today."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest
from zhongshi_contracts import topics
from zhongshi_contracts.events import Event
from zhongshi_runtime.upcasting import NoPath, Upcasters, split_type

V1 = topics.APPLICATION_WITHDRAWN.ce_type(1)
V2 = topics.APPLICATION_WITHDRAWN.ce_type(2)


class WithdrawnV3(Event):
    """A made-up third version: the reason became a list of reasons, and a channel was added."""

    topic = topics.APPLICATION_WITHDRAWN
    version: ClassVar[int] = 3
    reasons: list[str]
    channel: str


def upcasters() -> Upcasters:
    steps = Upcasters()

    @steps.register(V1)
    def reasons(payload: dict[str, object]) -> dict[str, object]:
        return {**payload, "reasons": [payload.pop("reason")]}

    @steps.register(V2)
    def channel(payload: dict[str, object]) -> dict[str, object]:
        return {**payload, "channel": "online"}

    return steps


def body(**fields: object) -> bytes:
    return json.dumps({"application_id": "A1", "round_id": "R1", **fields}).encode()


def test_a_v1_record_is_brought_to_v3_step_by_step() -> None:
    event = upcasters().parse(WithdrawnV3, V1, body(reason="改投下一批次"))
    assert event.reasons == ["改投下一批次"] and event.channel == "online"


def test_a_record_at_the_model_version_is_read_as_it_is() -> None:
    event = upcasters().parse(WithdrawnV3, topics.APPLICATION_WITHDRAWN.ce_type(3), body(reasons=["a"], channel="x"))
    assert event.channel == "x"


def test_a_missing_step_is_named() -> None:
    with pytest.raises(NoPath, match=r"application\.withdrawn\.v1"):
        Upcasters().parse(WithdrawnV3, V1, body(reason="r"))


def test_one_step_per_version_and_type_names_its_version() -> None:
    steps = upcasters()
    with pytest.raises(ValueError, match="already"):
        steps.register(V1)(lambda p: p)
    assert split_type(V2) == ("cn.gov.hubei.pilot.application.withdrawn", 2)
    with pytest.raises(NoPath):
        split_type("cn.gov.hubei.pilot.application.withdrawn")
