"""The recommendation chain's pure rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.recommendation import (
    Actor,
    ApplicationExceptionDecided,
    ApplicationForwarded,
    ApplicationRecommended,
    ApplicationRejected,
    ApplicationReturned,
    Level,
)
from zhongshi_screening import chain
from zhongshi_screening.chain import ActionRefused, RoundSettings, Stage

from .chain_fixtures import NOW, case_of

COUNTY = Actor(id="u1", role="county_official", region_code="420111")
CITY = Actor(id="u2", role="city_official", region_code="420100")
PROVINCE = Actor(id="u3", role="province_official", region_code="42")


def test_county_recommends_then_city_forwards_with_the_chain_of_opinions(make_dossier: Callable[..., Dossier]) -> None:
    case = case_of(make_dossier())
    case, [recommended] = chain.recommend(case, COUNTY, "材料齐全，同意推荐", NOW)
    assert isinstance(recommended, ApplicationRecommended) and case.stage is Stage.CITY_REVIEW
    case, [forwarded] = chain.forward(case, CITY, "同意推荐至省厅", NOW, quota=5, unranked=2)
    assert isinstance(forwarded, ApplicationForwarded)
    assert [o.text for o in forwarded.opinions] == ["材料齐全，同意推荐", "同意推荐至省厅"]
    assert forwarded.priority == 2 and forwarded.quota == 5 and forwarded.flagged == []
    assert case.stage is Stage.EXPERT_REVIEW  # nothing flagged: straight on to expert review
    assert forwarded.dossier == case.dossier and forwarded.clauses == case.clauses


def test_a_flagged_application_waits_for_the_provinces_exception_decision(make_dossier: Callable[..., Dossier]) -> None:
    case = case_of(make_dossier(platform={"site_area_m2": "100"}))
    case, _ = chain.recommend(case, COUNTY, "同意", NOW)
    case, [forwarded] = chain.forward(case, CITY, "同意", NOW, quota=5, unranked=1)
    assert isinstance(forwarded, ApplicationForwarded)
    assert forwarded.flagged == ["C6"] and case.stage is Stage.EXCEPTION_REVIEW
    approved, [decided] = chain.decide_exception(case, PROVINCE, True, "场地虽小但设备先进", NOW)
    assert isinstance(decided, ApplicationExceptionDecided) and decided.clauses == ["C6"]
    assert approved.stage is Stage.EXPERT_REVIEW
    refused, _ = chain.decide_exception(case, PROVINCE, False, "场地不足，无法开展中试", NOW)
    assert refused.stage is Stage.DECLINED


def test_a_province_administered_unit_does_both_steps_in_one_action(make_dossier: Callable[..., Dossier]) -> None:
    case = case_of(make_dossier(30))  # 仙桃
    assert case.province_administered
    unit = Actor(id="u4", role="county_official", region_code="429004")
    case, events = chain.recommend_and_forward(case, unit, "同意推荐", NOW, quota=2, unranked=1)
    assert [type(e) for e in events] == [ApplicationRecommended, ApplicationForwarded]
    levels = [e.level for e in events if isinstance(e, ApplicationRecommended | ApplicationForwarded)]
    assert levels == [Level.COUNTY, Level.CITY] and case.stage is Stage.EXPERT_REVIEW


@pytest.mark.parametrize("stage", [Stage.COUNTY_REVIEW, Stage.CITY_REVIEW])
def test_return_and_reject_at_either_level(make_dossier: Callable[..., Dossier], stage: Stage) -> None:
    case = case_of(make_dossier(), stage=stage)
    returned, [event] = chain.return_for_correction(case, COUNTY, "请补充安全评价报告", NOW)
    assert isinstance(event, ApplicationReturned) and returned.stage is Stage.RETURNED
    assert event.level is (Level.COUNTY if stage is Stage.COUNTY_REVIEW else Level.CITY)
    rejected, [event] = chain.reject(case, COUNTY, "不符合本地产业布局", NOW)
    assert isinstance(event, ApplicationRejected) and rejected.stage is Stage.REJECTED


@pytest.mark.parametrize("stage", [s for s in Stage if s is not Stage.COUNTY_REVIEW])
def test_recommending_outside_county_review_is_refused(make_dossier: Callable[..., Dossier], stage: Stage) -> None:
    with pytest.raises(ActionRefused, match="不能执行此操作"):
        chain.recommend(case_of(make_dossier(), stage=stage), COUNTY, "同意", NOW)


def test_a_resubmission_returns_to_county_review_keeping_earlier_opinions(make_dossier: Callable[..., Dossier]) -> None:
    from zhongshi_contracts.events import ApplicationSubmitted
    from zhongshi_screening.domain import evaluate
    from zhongshi_screening.handlers import screened_event
    from zhongshi_screening.rules import DEFAULT_RULE_SET

    case, _ = chain.return_for_correction(case_of(make_dossier()), COUNTY, "请补充材料", NOW)
    resubmitted = ApplicationSubmitted(application_id="A1", round_id="R1", revision=2, rule_set_version="hubei-2025-v1",
                                       submitted_at=NOW, city_code="420100", dossier=make_dossier())
    verdict = evaluate(make_dossier(), DEFAULT_RULE_SET, NOW.date(), DEFAULT_RULE_SET.required_mechanism_kinds)
    again = chain.screened(case, screened_event(resubmitted, verdict, NOW), make_dossier())
    assert again.stage is Stage.COUNTY_REVIEW and again.revision == 2
    assert again.opinions == [] and [o.text for o in again.earlier_opinions] == ["请补充材料"]


def test_overdue_is_after_the_stage_deadline_day(make_dossier: Callable[..., Dossier]) -> None:
    case = case_of(make_dossier())
    settings = RoundSettings(round_id="R1", deadlines={Stage.COUNTY_REVIEW: date(2026, 11, 30)})
    assert not case.overdue(settings, date(2026, 11, 30))
    assert case.overdue(settings, date(2026, 11, 30) + timedelta(days=1))
    assert not case.overdue(None, date(2030, 1, 1))
