"""The schema compatibility check that guards the published `.v1` event types."""

from __future__ import annotations

from pydantic import BaseModel, Field

from zhongshi.compat import breaking_changes


class Party(BaseModel):
    name: str


class V1(BaseModel):
    application_id: str = Field(description="old words")
    score: int
    note: str | None = None
    party: Party


def test_adding_an_optional_field_or_rewording_is_compatible() -> None:
    class Next(V1):
        extra: str | None = None
        application_id: str = Field(description="new words")

    assert breaking_changes(V1.model_json_schema(), Next.model_json_schema()) == []


def test_removing_renaming_retyping_or_requiring_breaks() -> None:
    class Removed(BaseModel):
        score: int
        note: str | None = None
        party: Party

    class Retyped(V1):
        score: str  # type: ignore[assignment]

    class Required(V1):
        note: str
        new: int

    old = V1.model_json_schema()
    assert breaking_changes(old, Removed.model_json_schema()) == ["application_id: removed"]
    assert breaking_changes(old, Retyped.model_json_schema()) == ["score: type changed"]
    assert breaking_changes(old, Required.model_json_schema()) == [
        "note: type changed", "new: new required field", "note: became required"]


def test_nested_definitions_are_checked_too() -> None:
    class Party2(BaseModel):
        name: int

    class Next(BaseModel):
        application_id: str
        score: int
        note: str | None = None
        party: Party2

    old = V1.model_json_schema()
    new = Next.model_json_schema()
    new["$defs"]["Party"] = new["$defs"].pop("Party2")
    new["properties"]["party"] = old["properties"]["party"]
    assert breaking_changes(old, new) == ["Party.name: type changed"]


def test_a_new_field_in_a_closed_object_breaks_but_not_in_an_open_one() -> None:
    class Next(V1):
        extra: str | None = None

    closed = V1.model_json_schema() | {"additionalProperties": False}
    assert breaking_changes(closed, Next.model_json_schema()) == [
        "extra: new field where the released schema forbids additional properties"]
    assert breaking_changes(V1.model_json_schema(), Next.model_json_schema()) == []
