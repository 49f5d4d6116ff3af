"""Every clause of 《湖北省制造业中试平台培育建设工作指引》五、条件要求 at, just under and just over its boundary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from zhongshi_contracts.credit_code import make_credit_code
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import ClauseResult, ClauseStatus, ScreeningOutcome
from zhongshi_screening.domain import evaluate, latest_start, years_after
from zhongshi_screening.rules import DEFAULT_RULE_SET, RuleSet

AS_OF = date(2026, 11, 27)
RULES = DEFAULT_RULE_SET
UPLOADED = frozenset(RULES.required_mechanism_kinds)  # the kinds of the uploaded materials


def clause(dossier: Dossier, name: str, as_of: date = AS_OF, rules: RuleSet = RULES) -> ClauseResult:
    return next(c for c in evaluate(dossier, rules, as_of, UPLOADED).clauses if c.clause == name)


def test_the_sample_dossier_is_eligible(make_dossier: Callable[..., Dossier]) -> None:
    verdict = evaluate(make_dossier(), RULES, AS_OF, UPLOADED)
    assert verdict.outcome is ScreeningOutcome.ELIGIBLE
    assert [c.clause for c in verdict.clauses] == [f"C{i}" for i in range(1, 10)]
    assert verdict.rule_set_version == "hubei-2025-v1"


@pytest.mark.parametrize(("category", "kind", "status"), [
    ("91", "enterprise", ClauseStatus.PASS), ("12", "public_institution", ClauseStatus.PASS),
    ("51", "social_organisation", ClauseStatus.PASS), ("91", "unincorporated", ClauseStatus.FAIL),
])
def test_c1_only_legal_persons_apply(
    make_dossier: Callable[..., Dossier], category: str, kind: str, status: ClauseStatus
) -> None:
    code = make_credit_code(f"{category}420111MA0000000")
    assert clause(make_dossier(applicant={"credit_code": code, "legal_person_kind": kind}), "C1").status is status


@pytest.mark.parametrize(("category", "kind"), [("92", "enterprise"), ("91", "public_institution")])
def test_c1_the_credit_code_decides_the_kind_not_the_declaration(
    make_dossier: Callable[..., Dossier], category: str, kind: str
) -> None:
    """The self-check sees this too: a sole trader (92) declared an enterprise is not a legal person."""
    code = make_credit_code(f"{category}420111MA0000000")
    result = clause(make_dossier(applicant={"credit_code": code, "legal_person_kind": kind}), "C1")
    assert result.status is ClauseStatus.FAIL and f"前两位“{category}”" in result.reason


@pytest.mark.parametrize(("since", "status"), [
    (date(2025, 11, 27), ClauseStatus.PASS),  # exactly one year: 以上 includes it
    (date(2025, 11, 28), ClauseStatus.FAIL),  # one day short
    (date(2025, 11, 26), ClauseStatus.PASS),
])
def test_c2_one_year_of_operation(make_dossier: Callable[..., Dossier], since: date, status: ClauseStatus) -> None:
    assert clause(make_dossier(platform={"operating_since": since.isoformat()}), "C2").status is status


def test_c2_leap_day_anniversary_is_28_february(make_dossier: Callable[..., Dossier]) -> None:
    assert years_after(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert years_after(date(2024, 2, 29), 4) == date(2028, 2, 29)
    result = clause(make_dossier(platform={"operating_since": "2024-02-29"}), "C2", as_of=date(2025, 2, 28))
    assert result.status is ClauseStatus.PASS and result.threshold == "不晚于2024-02-29开始运行"  # not the 28th
    assert latest_start(date(2028, 2, 28), 4) == date(2024, 2, 28)  # the 29th's fourth anniversary is the 29th


@pytest.mark.parametrize("missing", [
    {"clusters": []}, {"service_kinds": []}, {"serves_external_clients": False},
])
def test_c3_needs_a_cluster_a_service_and_public_character(
    make_dossier: Callable[..., Dossier], missing: dict[str, Any]
) -> None:
    assert clause(make_dossier(platform=missing), "C3").status is ClauseStatus.FAIL


@pytest.mark.parametrize("field", ["has_pilot_line_or_test_site", "safety_facilities", "environmental_facilities"])
def test_c4_each_facility_is_required(make_dossier: Callable[..., Dossier], field: str) -> None:
    result = clause(make_dossier(platform={field: False}), "C4")
    assert result.status is ClauseStatus.FAIL and result.reason.startswith("缺少")


@pytest.mark.parametrize(("value", "status"), [
    ("10000000.00", ClauseStatus.PASS), ("9999999.99", ClauseStatus.FLAGGED), ("10000000.01", ClauseStatus.PASS),
])
def test_c5_equipment_shortfall_is_flagged_not_failed(
    make_dossier: Callable[..., Dossier], value: str, status: ClauseStatus
) -> None:
    assert clause(make_dossier(platform={"equipment_original_value": value}), "C5").status is status


@pytest.mark.parametrize(("area", "status"), [
    ("500", ClauseStatus.PASS), ("499.99", ClauseStatus.FLAGGED), ("500.01", ClauseStatus.PASS),
])
def test_c6_site_area_shortfall_is_flagged_not_failed(
    make_dossier: Callable[..., Dossier], area: str, status: ClauseStatus
) -> None:
    assert clause(make_dossier(platform={"site_area_m2": area}), "C6").status is status


@given(st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2))
def test_c5_is_exactly_value_at_least_ten_million(value: Decimal) -> None:
    from zhongshi_contracts.dossier import Dossier

    from zhongshi.demo import dossier
    from zhongshi.demo_data import APPLICANTS

    data = dossier(0, APPLICANTS[0], AS_OF)
    data["platform"]["equipment_original_value"] = str(value)
    result = clause(Dossier.model_validate(data), "C5")
    assert (result.status is ClauseStatus.PASS) == (value >= Decimal(10_000_000))


@pytest.mark.parametrize(("rd", "status"), [(5, ClauseStatus.PASS), (4, ClauseStatus.FAIL), (6, ClauseStatus.PASS)])
def test_c7_ten_professionals_across_categories(
    make_dossier: Callable[..., Dossier], rd: int, status: ClauseStatus
) -> None:
    staff = {"management": 2, "rd": rd, "testing": 2, "quality": 1}  # 5 + rd
    assert clause(make_dossier(platform={"professionals": staff}), "C7").status is status


def _outcomes(transfer_dates: list[str], revenue: str, start: str = "2024-01-01") -> dict:  # type: ignore[type-arg]
    return {
        "technology_transfers": [
            {"date": d, "title": f"转化{i}", "client": "某企业"} for i, d in enumerate(transfer_dates)
        ],
        "service_revenue": [{"period_start": start, "period_end": "2024-12-31", "amount": revenue}],
    }


@pytest.mark.parametrize(("transfers", "revenue", "status"), [
    (["2024-01-01", "2024-06-01", "2025-01-01"], "0", ClauseStatus.PASS),  # 3 transfers, first on the start date
    (["2023-12-31", "2024-06-01", "2025-01-01"], "0", ClauseStatus.FAIL),  # one is before the start date
    (["2024-06-01", "2025-01-01"], "4999999.99", ClauseStatus.FAIL),  # 2 transfers and a yuan short
    (["2024-06-01", "2025-01-01"], "5000000.00", ClauseStatus.PASS),  # revenue alone suffices
    ([], "5000000.01", ClauseStatus.PASS),
])
def test_c8_three_transfers_or_five_million_since_the_start_date(
    make_dossier: Callable[..., Dossier], transfers: list[str], revenue: str, status: ClauseStatus
) -> None:
    assert clause(make_dossier(outcomes=_outcomes(transfers, revenue)), "C8").status is status


def test_c8_revenue_of_a_period_starting_before_the_start_date_does_not_count(
    make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier(outcomes=_outcomes([], "9000000", start="2023-12-31"))
    assert clause(d, "C8").status is ClauseStatus.FAIL


def test_c8_revenue_of_a_period_not_yet_ended_does_not_count(make_dossier: Callable[..., Dossier]) -> None:
    """Revenue earned since the start date: a period ending after the application's date is not earned yet."""
    revenue = [{"period_start": "2026-01-01", "period_end": "2026-12-31", "amount": "9000000"}]
    d = make_dossier(outcomes={"technology_transfers": [], "service_revenue": revenue})
    assert clause(d, "C8", as_of=date(2026, 12, 30)).status is ClauseStatus.FAIL
    assert clause(d, "C8", as_of=date(2026, 12, 31)).status is ClauseStatus.PASS


def test_the_clause_titles_state_the_rule_sets_thresholds(make_dossier: Callable[..., Dossier]) -> None:
    titles = {c.clause: c.title for c in evaluate(make_dossier(), RULES, AS_OF, UPLOADED).clauses}
    assert (titles["C5"], titles["C6"], titles["C7"]) == ("中试设备设施原值1000万元以上", "试验场地面积500平方米以上",
                                                          "专业人才10人以上")
    moved = RULES.model_copy(update={"min_equipment_value": Decimal("15000000"), "min_site_area_m2": Decimal("800"),
                                     "min_professionals": 50})
    titles = {c.clause: c.title for c in evaluate(make_dossier(), moved, AS_OF, UPLOADED).clauses}
    assert (titles["C5"], titles["C6"], titles["C7"]) == ("中试设备设施原值1500万元以上", "试验场地面积800平方米以上",
                                                          "专业人才50人以上")


@pytest.mark.parametrize(("field", "value", "named"), [
    ("in_principle", ["c5", "C6"], "c5"), ("required_mechanism_kinds", ["safety_managment"], "safety_managment"),
])
def test_a_rule_set_naming_an_unknown_clause_or_material_kind_is_refused(field: str, value: list[str],
                                                                         named: str) -> None:
    with pytest.raises(ValidationError) as refused:
        RuleSet.model_validate({**RULES.model_dump(), field: value})
    [error] = refused.value.errors()
    assert error["loc"] == (field,) and named in error["msg"]


def test_c9_every_required_mechanism_document_uploaded(make_dossier: Callable[..., Dossier]) -> None:
    result = next(c for c in evaluate(make_dossier(), RULES, AS_OF, {"operations_management"}).clauses
                  if c.clause == "C9")
    assert result.status is ClauseStatus.FAIL
    assert "服务流程与收费制度" in result.reason and "安全环保管理制度" in result.reason


def test_c9_typed_titles_are_no_evidence(make_dossier: Callable[..., Dossier]) -> None:
    """The dossier still lists every mechanism document by title; without uploads C9 fails."""
    d = make_dossier()
    assert {m.kind for m in d.platform.mechanism_documents} >= set(RULES.required_mechanism_kinds)
    result = next(c for c in evaluate(d, RULES, AS_OF).clauses if c.clause == "C9")
    assert result.status is ClauseStatus.FAIL and result.reason.startswith("未上传")


def test_ineligible_lists_every_failing_clause_not_just_the_first(make_dossier: Callable[..., Dossier]) -> None:
    d = make_dossier(applicant={"legal_person_kind": "unincorporated"},
                     platform={"professionals": {"management": 1, "rd": 1, "testing": 1, "quality": 1},
                               "equipment_original_value": "1.00"})
    verdict = evaluate(d, RULES, AS_OF, UPLOADED)
    assert verdict.outcome is ScreeningOutcome.INELIGIBLE
    assert verdict.failing == ["C1", "C7"]
    assert verdict.flagged == ["C5"]


def test_only_flagged_clauses_need_an_exception(make_dossier: Callable[..., Dossier]) -> None:
    verdict = evaluate(make_dossier(platform={"site_area_m2": "10"}), RULES, AS_OF, UPLOADED)
    assert verdict.outcome is ScreeningOutcome.NEEDS_EXCEPTION and verdict.flagged == ["C6"]


def test_a_later_rule_set_version_moves_thresholds_and_is_recorded(make_dossier: Callable[..., Dossier]) -> None:
    stricter = RULES.model_copy(update={"version": "hubei-2027-v1", "min_professionals": 50,
                                        "in_principle": ["C5", "C6", "C7"]})
    d = make_dossier()
    assert evaluate(d, RULES, AS_OF, UPLOADED).outcome is ScreeningOutcome.ELIGIBLE
    verdict = evaluate(d, stricter, AS_OF, UPLOADED)
    assert verdict.rule_set_version == "hubei-2027-v1"
    assert verdict.flagged == ["C7"] and verdict.outcome is ScreeningOutcome.NEEDS_EXCEPTION


def test_the_as_of_date_decides_c2(make_dossier: Callable[..., Dossier]) -> None:
    d = make_dossier(platform={"operating_since": "2025-12-01"})
    assert clause(d, "C2", as_of=date(2026, 11, 30)).status is ClauseStatus.FAIL
    assert clause(d, "C2", as_of=date(2026, 11, 30) + timedelta(days=1)).status is ClauseStatus.PASS
