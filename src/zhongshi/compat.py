"""Schema compatibility of the published events: a `.v1` type may only gain optional fields.

`breaking_changes(old, new)` compares two JSON Schemas (as pydantic writes them: properties, required,
$defs) and names every removed field, changed type and newly required field, recursively through the
definitions both share. `make contracts` refuses to overwrite a committed schema with a breaking change.
"""

from __future__ import annotations

from typing import Any

_ANNOTATIONS = frozenset({"description", "examples", "title", "default"})


def _shape(schema: Any) -> Any:
    """A property's schema without its annotations: what a change of type would change."""
    if isinstance(schema, dict):
        return {k: _shape(v) for k, v in schema.items() if k not in _ANNOTATIONS}
    if isinstance(schema, list):
        return [_shape(v) for v in schema]
    return schema


def _object(old: dict[str, Any], new: dict[str, Any], where: str) -> list[str]:
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name, schema in old_props.items():
        if name not in new_props:
            problems.append(f"{where}{name}: removed")
        elif _shape(schema) != _shape(new_props[name]):
            problems.append(f"{where}{name}: type changed")
    for name in sorted(new_required - old_required):
        problems.append(f"{where}{name}: {'became required' if name in old_props else 'new required field'}")
    return problems


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every change that would break a subscriber of the old schema (empty: compatible)."""
    problems = _object(old, new, "")
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for name, definition in old_defs.items():
        if name in new_defs:
            problems += _object(definition, new_defs[name], f"{name}.")
    return problems
