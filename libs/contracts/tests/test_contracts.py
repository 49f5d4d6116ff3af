from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from zhongshi_contracts.credit_code import ALPHABET, credit_code_problem, make_credit_code
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.envelope import CloudEvent, free_of_control_and_format
from zhongshi_contracts.reference import CLUSTERS, ClusterTier, hubei_cities, hubei_counties, region
from zhongshi_contracts.topics import ALL_TOPICS, APPLICATION_SUBMITTED

first17 = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@pytest.mark.parametrize("code", ["91350100M000100Y43", "914201007146634920", "12100000400000624D"])
def test_published_credit_codes_pass_the_check(code: str) -> None:
    assert credit_code_problem(code) is None


def test_wrong_check_digit_is_named() -> None:
    assert credit_code_problem("91350100M000100Y44") == "统一社会信用代码校验位错误"


@pytest.mark.parametrize(
    ("code", "problem"), [("91350100M000100Y4", "18位"), ("91350100M000100YI3", "非法字符：I")]
)
def test_length_and_alphabet_are_checked(code: str, problem: str) -> None:
    assert problem in (credit_code_problem(code) or "")


@given(first17)
def test_made_codes_are_valid(prefix: str) -> None:
    assert credit_code_problem(make_credit_code(prefix)) is None


@given(first17, st.integers(0, 16), st.integers(1, 30))
def test_any_single_character_change_is_detected(prefix: str, position: int, shift: int) -> None:
    code = make_credit_code(prefix)
    changed = ALPHABET[(ALPHABET.index(code[position]) + shift) % 31]
    assert credit_code_problem(code[:position] + changed + code[position + 1 :]) is not None


def test_hubei_has_17_city_level_units_and_every_county_belongs_to_one() -> None:
    assert len(hubei_cities()) == 17
    assert len(hubei_counties()) > 100
    assert region("420111").city_name == "武汉市"
    assert region("429004").province_administered and region("429004").city_code == "429004"
    assert not region("420115").province_administered


def test_51020_has_5_10_20_clusters() -> None:
    tiers = [tier for _, tier in CLUSTERS.values()]
    assert [tiers.count(t) for t in ClusterTier] == [5, 10, 20]


def test_every_topic_has_a_versioned_cloudevents_type_and_a_dlq() -> None:
    assert APPLICATION_SUBMITTED.ce_type() == "cn.gov.hubei.pilot.application.submitted.v1"
    assert all(t.dlq == t.name + ".dlq" and t.name.startswith("pilot.") for t in ALL_TOPICS)


def test_cloudevent_headers_round_trip() -> None:
    event = CloudEvent.new(APPLICATION_SUBMITTED, source="/zhongshi/intake", subject="A1",
                           at=datetime(2026, 11, 27, 1, 2, 3, tzinfo=UTC))
    headers = event.headers()
    assert headers["ce_time"] == "2026-11-27T01:02:03Z"
    assert headers["content-type"] == "application/json"
    assert CloudEvent.from_headers(headers) == event


def test_missing_cloudevent_header_is_a_validation_error() -> None:
    headers = CloudEvent.new(APPLICATION_SUBMITTED, source="s", subject="A1").headers()
    del headers["ce_id"]
    with pytest.raises(ValidationError, match="id"):
        CloudEvent.from_headers(headers)


@given(st.text(st.characters(codec="ascii")) | st.text())
def test_the_ascii_shortcut_judges_attributes_as_the_unicode_categories_do(value: str) -> None:
    assert free_of_control_and_format(value) == (
        not any(unicodedata.category(c) in ("Cc", "Cf") for c in value))


@pytest.mark.parametrize("attribute", ["A1\x00", "A1\x7f", "A1\t", "A1\u200b", "A1\u0085", "A1\ufeff"])
def test_a_cloudevent_attribute_with_a_control_or_format_character_is_refused(attribute: str) -> None:
    headers = CloudEvent.new(APPLICATION_SUBMITTED, source="s", subject="A1").headers() | {"ce_subject": attribute}
    with pytest.raises(ValidationError, match="control or format"):
        CloudEvent.from_headers(headers)


def _error_locations(data: dict) -> list[tuple]:  # type: ignore[type-arg]
    with pytest.raises(ValidationError) as caught:
        Dossier.model_validate(data)
    return [e["loc"] for e in caught.value.errors()]


def test_region_outside_hubei_is_refused_naming_the_field(dossier_json: Callable[..., dict[str, Any]]) -> None:
    assert _error_locations(dossier_json(applicant={"region_code": "110101"})) == [("applicant", "region_code")]


def test_unknown_cluster_and_service_kind_are_refused(dossier_json: Callable[..., dict[str, Any]]) -> None:
    data = dossier_json(platform={"clusters": ["steam_engines"], "service_kinds": ["catering"]})
    assert _error_locations(data) == [("platform", "clusters", 0), ("platform", "service_kinds", 0)]


@pytest.mark.parametrize("amount", ["-1", "abc", "1.234", "1e30"])
def test_bad_money_is_refused(dossier_json: Callable[..., dict[str, Any]], amount: str) -> None:
    data = dossier_json(platform={"equipment_original_value": amount})
    assert _error_locations(data) == [("platform", "equipment_original_value")]


@pytest.mark.parametrize("when", [0, "0", 1_700_006_400, "2020-01-01T00:00:00", "2020-1-1", True])
def test_a_date_is_a_date_not_what_converts_to_one(dossier_json: Callable[..., dict[str, Any]], when: object) -> None:
    """Lax mode would read 0 as 1970-01-01 (56 years of operation) and a midnight timestamp as its day."""
    assert _error_locations(dossier_json(platform={"operating_since": when})) == [("platform", "operating_since")]
    valid = Dossier.model_validate(dossier_json(platform={"operating_since": "2020-01-01"}))
    assert valid.platform.operating_since == date(2020, 1, 1)


@pytest.mark.parametrize("answer", [1, 0, "yes", "true", "off"])
def test_a_yes_or_no_is_json_true_or_false(dossier_json: Callable[..., dict[str, Any]], answer: object) -> None:
    assert _error_locations(dossier_json(platform={"safety_facilities": answer})) == [("platform", "safety_facilities")]


def test_joint_construction_needs_its_partners(dossier_json: Callable[..., dict[str, Any]]) -> None:
    data = dossier_json(platform={"platform_type": "joint_construction", "partners": []})
    with pytest.raises(ValidationError, match="共建各方"):
        Dossier.model_validate(data)


def test_future_dates_are_located(make_dossier: Callable[..., Dossier]) -> None:
    d = make_dossier()
    assert d.future_dates(date(2026, 11, 27)) == []
    assert ("platform", "operating_since") in d.future_dates(date(2000, 1, 1))


def test_a_revenue_period_not_yet_ended_is_a_future_date(make_dossier: Callable[..., Dossier]) -> None:
    """Revenue is reported once earned: a period ending after today is refused, naming its end."""
    revenue = [{"period_start": "2026-01-01", "period_end": "2026-12-31", "amount": "100.00"}]
    d = make_dossier(outcomes={"service_revenue": revenue})
    assert d.future_dates(date(2026, 12, 30)) == [("outcomes", "service_revenue", "0", "period_end")]
    assert d.future_dates(date(2026, 12, 31)) == []
