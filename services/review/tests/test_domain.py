"""Expert review's pure rules at their boundaries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.review import Decision
from zhongshi_review.domain import (
    DrawFailed,
    ScoreProblem,
    Scoring,
    aggregate,
    check_sheet,
    conflicts,
    divergent,
    draw_panel,
    rank_and_decide,
    weighted_total,
)
from zhongshi_review.rubric import DEFAULT_RUBRIC, Aggregation, RoundConfig

from .review_fixtures import candidate_of, expert

TODAY = date(2026, 11, 27)
CONFIG = RoundConfig(round_id="R1", quota=2, accreditation_line=Decimal(80), cultivation_line=Decimal(70))
D = Decimal


def test_trimmed_mean_drops_the_extremes_only_from_five_scores() -> None:
    assert aggregate([D(60), D(70), D(80), D(90)], Aggregation.TRIMMED_MEAN) == D("75.00")  # 4: plain mean
    assert aggregate([D(10), D(70), D(80), D(90), D(100)], Aggregation.TRIMMED_MEAN) == D("80.00")
    assert aggregate([D(10), D(70), D(80), D(90), D(100)], Aggregation.MEAN) == D("70.00")
    assert aggregate([D(10), D(70), D(80), D(90)], Aggregation.MEDIAN) == D("75.00")
    assert aggregate([D("80.005")], Aggregation.MEAN) == D("80.01")  # half up to the fen


def test_divergence_is_a_spread_above_the_threshold() -> None:
    assert not divergent([D(70), D(90)], D(20))
    assert divergent([D(70), D("90.01")], D(20))


def s(app: str, score: str, outcomes: str = "5", priority: int = 1, failed: bool = False) -> Scoring:
    return Scoring(app, D(score), D(outcomes), priority, failed)


def decisions(entries: list[Scoring], config: RoundConfig = CONFIG) -> dict[str, tuple[Decision, int | None]]:
    return {p.application_id: (p.decision, p.rank) for p in rank_and_decide(entries, config)}


def test_exactly_on_a_line_counts() -> None:
    assert decisions([s("a", "80.00"), s("b", "70.00"), s("c", "69.99")]) == {
        "a": (Decision.ACCREDIT, 1), "b": (Decision.CULTIVATE, 2), "c": (Decision.DECLINE, 3)}


def test_above_the_line_but_beyond_the_quota_is_cultivated() -> None:
    assert decisions([s("a", "95"), s("b", "90"), s("c", "85")])["c"] == (Decision.CULTIVATE, 3)


def test_ties_at_the_quota_line_break_on_service_outcomes_then_city_priority_then_id() -> None:
    result = decisions([s("a", "90"), s("b", "85", outcomes="6"), s("c", "85", outcomes="8")])
    assert result["c"] == (Decision.ACCREDIT, 2) and result["b"] == (Decision.CULTIVATE, 3)
    result = decisions([s("a", "90"), s("b", "85", priority=2), s("c", "85", priority=1)])
    assert result["c"] == (Decision.ACCREDIT, 2)
    result = decisions([s("a", "90"), s("z", "85"), s("y", "85")])
    assert result["y"] == (Decision.ACCREDIT, 2) and result["z"] == (Decision.CULTIVATE, 3)


def test_an_inspection_fail_declines_without_taking_a_rank() -> None:
    result = decisions([s("a", "99", failed=True), s("b", "85"), s("c", "84")])
    assert result == {"a": (Decision.DECLINE, None), "b": (Decision.ACCREDIT, 1), "c": (Decision.ACCREDIT, 2)}


def full_marks(value: int) -> dict[str, int]:
    return {c.key: value for c in DEFAULT_RUBRIC.criteria}


def test_the_weighted_total_is_out_of_100() -> None:
    assert weighted_total(DEFAULT_RUBRIC, full_marks(10)) == D("100.00")
    assert weighted_total(DEFAULT_RUBRIC, {**full_marks(8), "service_outcomes": 5}) == D("75.50")


@pytest.mark.parametrize(("value", "needs_comment"), [(3, True), (4, False), (8, False), (9, True)])
def test_extreme_scores_need_a_comment(value: int, needs_comment: bool) -> None:
    sheet = {**full_marks(6), "talent_team": value}
    if needs_comment:
        with pytest.raises(ScoreProblem, match="须填写评语") as caught:
            check_sheet(DEFAULT_RUBRIC, sheet, {})
        assert caught.value.field == "talent_team"
        check_sheet(DEFAULT_RUBRIC, sheet, {"talent_team": "团队结构合理，骨干稳定"})
    else:
        check_sheet(DEFAULT_RUBRIC, sheet, {})


def test_a_sheet_must_cover_the_rubric_within_range() -> None:
    with pytest.raises(ScoreProblem, match="缺少"):
        check_sheet(DEFAULT_RUBRIC, {"talent_team": 5}, {})
    with pytest.raises(ScoreProblem, match="0至10"):
        check_sheet(DEFAULT_RUBRIC, {**full_marks(5), "talent_team": 11}, {})


def test_conflicts_same_organisation_partner_and_recent_relations(make_dossier: Callable[..., Dossier]) -> None:
    app = candidate_of(make_dossier(5))  # a joint construction: it has partners
    partner = app.dossier.platform.partners[0]
    assert conflicts(expert(1, ["aerospace"], organisation=app.applicant_name), app, CONFIG, TODAY)
    assert conflicts(expert(2, ["aerospace"], organisation_credit_code=partner.credit_code), app, CONFIG, TODAY)
    recent = {"organisation": partner.name, "kind": "collaboration", "start": "2020-01-01", "end": "2023-11-27"}
    old = {**recent, "end": "2023-11-26"}
    assert conflicts(expert(3, ["aerospace"], relations=[recent]), app, CONFIG, TODAY)  # exactly 3 years ago
    assert not conflicts(expert(4, ["aerospace"], relations=[old]), app, CONFIG, TODAY)
    same_city = CONFIG.model_copy(update={"exclude_same_city": True})
    assert conflicts(expert(5, ["aerospace"]), app, same_city, TODAY) == ["与申报主体同属一个市州"]


def test_the_same_seed_draws_the_same_panel_and_another_seed_another(make_dossier: Callable[..., Dossier]) -> None:
    app = candidate_of(make_dossier())  # clusters: optoelectronic_information, laser
    pool = [expert(n, ["laser"]) for n in range(30)]
    first = draw_panel(pool, app, CONFIG, "seed-1", TODAY).experts
    assert draw_panel(list(reversed(pool)), app, CONFIG, "seed-1", TODAY).experts == first
    assert draw_panel(pool, app, CONFIG, "seed-2", TODAY).experts != first
    assert len(first) == 5 and len(set(first)) == 5


def test_too_few_qualified_experts_fail_the_draw_saying_why(make_dossier: Callable[..., Dossier]) -> None:
    app = candidate_of(make_dossier())
    pool = [expert(n, ["laser"]) for n in range(4)] + [expert(9, ["laser"], organisation=app.applicant_name)]
    with pytest.raises(DrawFailed, match="E009：与申报主体或共建方同单位"):
        draw_panel(pool, app, CONFIG, "s", TODAY)


relations = st.lists(st.fixed_dictionaries({
    "organisation": st.sampled_from(["A", "B", "C"]), "kind": st.sampled_from(["employment", "collaboration"]),
    "start": st.just("2015-01-01"), "end": st.one_of(st.none(), st.dates(date(2016, 1, 1), date(2026, 1, 1)))}),
    max_size=2)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "某大学", "C"]), relations), min_size=5, max_size=25),
       st.text(min_size=1, max_size=8))
def test_a_draw_never_picks_a_conflicted_expert(members: list[tuple[str, list[dict[str, Any]]]], seed: str) -> None:
    from zhongshi_contracts.dossier import Dossier

    from zhongshi.demo import dossier
    from zhongshi.demo_data import APPLICANTS

    data = dossier(0, APPLICANTS[0], TODAY)
    data["applicant"]["name"] = "A"
    app = candidate_of(Dossier.model_validate(data))
    pool = [expert(n, ["laser"], organisation=org, relations=rel) for n, (org, rel) in enumerate(members)]
    try:
        panel = draw_panel(pool, app, CONFIG, seed, TODAY)
    except DrawFailed:
        return
    by_id = {e.id: e for e in pool}
    assert not any(conflicts(by_id[e], app, CONFIG, TODAY) for e in panel.experts)


@pytest.mark.parametrize("written", [
    "武汉航空航天材料联合创新 有限公司", "武汉航空航天材料联合创新\u3000有限公司",
    " 武汉航空航天材料联合创新有限公司\t",
    "武汉航空航天材料联合创新\u200b有限公司", "武汉航空航天材料联合创新\u2060有限公司",
])
def test_an_expert_from_the_applicant_is_found_however_the_name_is_spaced(
    make_dossier: Callable[..., Dossier], written: str
) -> None:
    app = candidate_of(make_dossier(5))
    assert app.applicant_name == "武汉航空航天材料联合创新有限公司"
    member = expert(1, ["aerospace"]).model_construct(  # as stored before names were checked for Cf
        **{**expert(1, ["aerospace"]).__dict__, "organisation": written})
    assert conflicts(member, app, CONFIG, TODAY), written


def test_full_width_letters_and_brackets_are_folded_in_relations(make_dossier: Callable[..., Dossier]) -> None:
    dossier = make_dossier(5)
    partner = dossier.platform.partners[0].model_copy(update={"name": "ABC(武汉)新材料研究院", "credit_code": None})
    platform = dossier.platform.model_copy(update={"partners": [partner]})
    app = candidate_of(dossier.model_copy(update={"platform": platform}))
    relation = {"organisation": "ＡＢＣ（武汉）新材料研究院", "kind": "employment", "start": "2020-01-01"}
    assert conflicts(expert(2, ["aerospace"], relations=[relation]), app, CONFIG, TODAY)
    other = {**relation, "organisation": "ＡＢＣ（襄阳）新材料研究院"}
    assert not conflicts(expert(3, ["aerospace"], relations=[other]), app, CONFIG, TODAY)
