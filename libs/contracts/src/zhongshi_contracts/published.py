"""The event schemas as published (docs/schemas, the AsyncAPI documents): open to new optional fields.

The dossier refuses unknown fields on input (``extra="forbid"``), which pydantic writes as
``additionalProperties: false``. Published as such, a strict subscriber validating against ``.v1`` would
refuse the first event that gained an optional field, and ``.v1`` could never grow. So the published schemas
leave ``additionalProperties`` open: subscribers are tolerant readers, and the compatibility gate
(zhongshi.compat) still refuses a new field wherever a released schema forbids additional properties.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from zhongshi_contracts.envelope import headers_schema
from zhongshi_contracts.events import Event

COMPONENT_REF = "#/components/schemas/{model}"


def opened(schema: Any) -> Any:
    """``schema`` without ``additionalProperties: false`` at any depth (other values are kept)."""
    if isinstance(schema, dict):
        return {k: opened(v) for k, v in schema.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(schema, list):
        return [opened(v) for v in schema]
    return schema


def event_schema(model: type[BaseModel]) -> dict[str, Any]:
    """One event's standalone JSON Schema (its definitions under ``$defs``), as published."""
    schema: dict[str, Any] = opened(model.model_json_schema())
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def message_headers(model: type[Event]) -> dict[str, Any]:
    """The CloudEvents headers of ``model``'s messages: ``ce_type`` is its one type, ``ce_time`` a date-time."""
    schema: dict[str, Any] = headers_schema()
    properties = dict(schema["properties"])
    properties["ce_type"] = {**properties["ce_type"], "const": model.ce_type()}
    properties["ce_time"] = {**properties["ce_time"], "format": "date-time"}
    schema["properties"] = properties
    return schema


def payload_schemas(models: list[type[Event]]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Each model's payload schema (by the topic it travels on), its nested definitions referenced as
    ``#/components/schemas/<name>``, and those definitions (one namespace for the document: pydantic renames
    clashing names)."""
    unique = list(dict.fromkeys(models))
    refs, top = models_json_schema([(m, "validation") for m in unique], ref_template=COMPONENT_REF)
    definitions: dict[str, Any] = opened(top.get("$defs", {}))
    payloads: dict[str, dict[str, Any]] = {}
    for model in unique:
        name = refs[(model, "validation")]["$ref"].rsplit("/", 1)[1]
        payloads[model.wire_topic().name] = definitions[name]
    top_names = {refs[(m, "validation")]["$ref"].rsplit("/", 1)[1] for m in unique}
    referenced = _referenced(definitions)
    components = {k: v for k, v in definitions.items() if k not in top_names or k in referenced}
    return payloads, components


def _referenced(node: Any) -> set[str]:
    """Names of the component schemas ``node`` points at, at any depth."""
    if isinstance(node, list):
        return set().union(*map(_referenced, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    ref = node.get("$ref")
    found = {ref.rsplit("/", 1)[1]} if isinstance(ref, str) and ref.startswith("#/components/schemas/") else set()
    return found.union(*map(_referenced, node.values())) if node else found
