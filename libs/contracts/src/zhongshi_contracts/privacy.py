"""Data classification of the contract's fields: public, personal or internal, shown as ``x-classification``.

Every model of the contract declares the classification of its fields (`classification`, a class default) and
a field that differs says so with a marker (``Annotated[str, PERSONAL]``). The JSON Schemas and AsyncAPI
documents show it on every property. Personal data (个人信息: a person's phone, e-mail, name as a contact,
an expert's identity — 评审专家名单保密) never travels on a public topic; internal data (officials' user ids)
may, but is never sent to a webhook: a webhook gets the public fields only (`public_data`, an allow-list).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

KEY = "x-classification"


class Classification(StrEnum):
    PUBLIC = "public"  # anyone subscribed to the contract may read it
    PERSONAL = "personal"  # identifies a person: internal topics and zhongshi's own stores only
    INTERNAL = "internal"  # zhongshi's operations (user ids): on topics, never in webhooks


PERSONAL: Any = Field(json_schema_extra={KEY: Classification.PERSONAL.value})
INTERNAL: Any = Field(json_schema_extra={KEY: Classification.INTERNAL.value})


def mark_fields(schema: dict[str, Any], cls: type[Any]) -> None:
    """Pydantic's ``json_schema_extra`` hook: each property shows its classification (a model's default
    unless the field is marked); a model that declares none leaves its properties unclassified."""
    default = getattr(cls, "classification", None)
    for prop in schema.get("properties", {}).values():
        if default is not None:
            prop.setdefault(KEY, Classification(default).value)


def classification_of(model: type[BaseModel], name: str) -> Classification | None:
    """The classification of ``model``'s field ``name``: its marker, else the model's default (None: neither)."""
    extra = model.model_fields[name].json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get(KEY), str):
        return Classification(str(extra[KEY]))
    default = getattr(model, "classification", None)
    return Classification(default) if default is not None else None


def public_data(instance: BaseModel) -> dict[str, Any]:
    """The JSON form of ``instance`` with only its public fields, at any depth (the webhook allow-list)."""
    dumped = instance.model_dump(mode="json")
    kept: dict[str, Any] = {}
    for name in type(instance).model_fields:
        if classification_of(type(instance), name) is Classification.PUBLIC:
            kept[name] = _public_value(getattr(instance, name), dumped[name])
    return kept


def _public_value(value: Any, dumped: Any) -> Any:
    if isinstance(value, BaseModel):
        return public_data(value)
    if isinstance(value, list | tuple):
        return [_public_value(v, d) for v, d in zip(value, dumped, strict=True)]
    if isinstance(value, dict):
        return {k: _public_value(v, dumped[k]) for k, v in value.items()}
    return dumped
