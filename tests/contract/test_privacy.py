"""Personal data stays off the public topics: every field subscribers can reach is classified and none is
personal; the events that carry personal data travel on internal topics only zhongshi's principals may read."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zhongshi_contracts.catalog import FULL_TYPES, PUBLIC_TOPIC_TYPES
from zhongshi_contracts.privacy import KEY, Classification, public_data
from zhongshi_contracts.projections import PROJECTIONS, public_view
from zhongshi_contracts.published import event_schema
from zhongshi_contracts.review import PanelDrawn
from zhongshi_contracts.topics import ALL_TOPICS

from zhongshi import kafka_plan

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
# names that say "a person": a property so named must not be public (a guard for a model's public default)
PERSONAL_NAMES = re.compile(r"phone|mobile|e_?mail|contact|reply_to|expert|id_number|id_card|(?<!legal_)person")


def _properties(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, name, property schema) of every object property in ``schema`` and its definitions."""
    for where, node in [("", schema), *schema.get("$defs", {}).items()]:
        for name, prop in node.get("properties", {}).items():
            yield where, name, prop


def test_every_field_on_a_public_topic_is_classified_and_none_is_personal() -> None:
    for model in PUBLIC_TOPIC_TYPES:
        assert model.wire_topic().internal is False, model.__name__
        for where, name, prop in _properties(event_schema(model)):
            label = f"{model.ce_type()} {where}.{name}"
            assert prop.get(KEY) in {c.value for c in Classification}, f"unclassified: {label}"
            assert prop[KEY] != Classification.PERSONAL, f"personal data on a public topic: {label}"
            assert not (PERSONAL_NAMES.search(name) and prop[KEY] == Classification.PUBLIC), f"public? {label}"


def test_the_published_schemas_show_the_classification_and_public_topics_carry_no_personal_field() -> None:
    public = {m.ce_type() for m in PUBLIC_TOPIC_TYPES}
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        classes = {prop.get(KEY) for _, _, prop in _properties(schema)}
        assert None not in classes, path.name
        assert (Classification.PERSONAL.value in classes) is (path.stem not in public), path.name


def test_every_event_with_personal_data_travels_on_an_internal_topic_with_a_public_projection() -> None:
    for model in FULL_TYPES:
        personal = any(p.get(KEY) == Classification.PERSONAL for _, _, p in _properties(event_schema(model)))
        assert personal is (model.internal_topic is not None) is (model in PROJECTIONS), model.__name__
        if personal:
            assert model.internal_topic is not None and model.internal_topic.internal
            assert model.internal_topic.name.startswith("pilot.internal.")
            assert PROJECTIONS[model][0].topic == model.topic and PROJECTIONS[model][0].type_version == 2


def test_the_public_projection_keeps_references_and_counts_and_drops_the_experts() -> None:
    drawn = PanelDrawn(application_id="A1", round_id="R1", panel_id="P1", experts=["E001", "E002", "E003"],
                       seed="s", candidates=9, excluded=1, drawn_at="2026-12-01T02:00:00Z", topped_up=["E003"])
    public = public_view(drawn)
    assert public is not None and public.wire_topic().name == "pilot.review.panel-drawn"
    text = public.model_dump_json()
    assert "E00" not in text and public.model_dump()["members"] == 3 and public.model_dump()["topped_up"] == 1
    assert drawn.wire_topic().name == "pilot.internal.review.panel-drawn"
    assert "E00" not in json.dumps(public_data(drawn)) and public_data(drawn)["panel_id"] == "P1"


def test_only_zhongshi_principals_may_read_an_internal_topic_and_outside_systems_read_every_public_one() -> None:
    rules = kafka_plan.acls()
    internal = {t.name for t in ALL_TOPICS if t.internal}
    public = {t.name for t in ALL_TOPICS if not t.internal}
    assert internal, "no internal topics"
    readers = {user for user, op, kind, name in rules if kind == "topic" and name in internal and op == "Read"}
    assert readers and all(user.startswith("zhongshi-") for user in readers), readers
    outside = {name for user, op, kind, name in rules if user == kafka_plan.SUBSCRIBER and kind == "topic"}
    assert outside == public
    planned = {name for name, _, _ in kafka_plan.topics()}
    assert internal <= planned and {t + ".dlq" for t in internal} <= planned
