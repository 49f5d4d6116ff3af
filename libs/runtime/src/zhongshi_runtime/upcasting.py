"""Upcasters: how a record written under an older ``ce_type`` version (``….v1``) reaches the shape of the
model a consumer reads today (``….v2``), one version step at a time, before it is validated."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from zhongshi_contracts.events import Event

E = TypeVar("E", bound=Event)
Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

_VERSIONED = re.compile(r"^(?P<base>.+)\.v(?P<version>\d+)$")


class NoPath(ValueError):
    """A record's version cannot be brought to the model's: an upcaster is missing."""


def split_type(ce_type: str) -> tuple[str, int]:
    """``cn.gov.hubei.pilot.application.submitted.v2`` → (``cn.gov.hubei.pilot.application.submitted``, 2)."""
    match = _VERSIONED.match(ce_type)
    if match is None:
        raise NoPath(f"ce_type {ce_type!r} names no version (….vN)")
    return match["base"], int(match["version"])


def version_of(model: type[Event]) -> int:
    """The ``ce_type`` version a model reads and writes (1 unless the model says otherwise)."""
    return int(getattr(model, "version", 1))


class Upcasters:
    """A registry of steps, each keyed by the ``ce_type`` it reads (``….v1``) and giving the next version."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, ce_type: str) -> Callable[[Upcaster], Upcaster]:
        """Decorator: the step from ``ce_type`` (e.g. ``….submitted.v1``) to the version after it."""
        key = split_type(ce_type)

        def add(step: Upcaster) -> Upcaster:
            if key in self._steps:
                raise ValueError(f"an upcaster from {ce_type} is registered already")
            self._steps[key] = step
            return step

        return add

    def upcast(self, ce_type: str, payload: Payload, to_version: int) -> Payload:
        """``payload`` as version ``to_version``; a newer record is left as it is (models ignore extra fields)."""
        base, version = split_type(ce_type)
        while version < to_version:
            step = self._steps.get((base, version))
            if step is None:
                raise NoPath(f"no upcaster from {base}.v{version} towards v{to_version}")
            payload, version = step(payload), version + 1
        return payload

    def parse(self, model: type[E], ce_type: str, body: bytes | str) -> E:
        """Validate a record's body as ``model``, upcast first when it was written under an older version."""
        target = version_of(model)
        if split_type(ce_type)[1] >= target:
            return model.model_validate_json(body)
        return model.model_validate(self.upcast(ce_type, json.loads(body), target))


def default_upcasters() -> Upcasters:
    """The project's upcasters; empty while every event type is at v1 (add a step with each new version)."""
    return Upcasters()
