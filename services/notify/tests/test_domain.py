"""Who is told what: the notices each event causes, and where the application stands afterwards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.recommendation import Level
from zhongshi_notify.domain import (
    Audience,
    Case,
    Stage,
    above,
    advance,
    department,
    holder,
    schedule,
)
from zhongshi_notify.notices import notices

from .samples import (
    NOW,
    exception_decided,
    forwarded,
    recommended,
    rejected,
    returned,
    scheduled,
    screened,
    submitted,
    withdrawn,
)

DEADLINES = {"county_review": date(2026, 12, 1), "city_review": date(2026, 12, 10),
             "exception_review": date(2026, 12, 20)}


def who(found: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(n.template, n.recipient) for n in found]


def case_in(stage: Stage, make_dossier: Callable[..., Dossier], revision: int = 1, index: int = 0) -> Case:
    return advance(None, submitted(make_dossier(index), revision=revision)).model_copy(update={"stage": stage})


def test_a_submission_tells_only_its_applicant(make_dossier: Callable[..., Dossier]) -> None:
    d = make_dossier()
    [notice] = notices(submitted(d), None, {})
    assert (notice.template, notice.recipient, notice.audience) == (
        "application.submitted.applicant", d.applicant.credit_code, Audience.APPLICANT)
    assert notice.facts["platform_name"] == d.platform.name and notice.facts["revision"] == "1"


def test_an_eligible_verdict_enters_the_county_queue_with_its_deadline(make_dossier: Callable[..., Dossier]) -> None:
    d = make_dossier()
    found = notices(screened(d), case_in(Stage.SUBMITTED, make_dossier), DEADLINES)
    assert who(found) == [("application.screened.applicant", d.applicant.credit_code),
                          ("application.screened.county", "420111")]
    assert found[1].facts["deadline"] == "2026年12月1日" and found[1].audience is Audience.OFFICIAL
    assert found[0].facts["outcome"] == "已通过形式审查，进入县级初审。"


def test_a_flagged_verdict_tells_the_county_which_clauses_await_the_province(
    make_dossier: Callable[..., Dossier]
) -> None:
    found = notices(screened(make_dossier(), "needs_exception", flagged=["C6"]), None, {})
    assert "C6" in found[0].facts["outcome"] and "C6" in found[1].facts["flag_note"]
    assert found[1].facts["deadline"] == "批次规定期限"  # no schedule yet


def test_an_ineligible_verdict_tells_only_the_applicant_with_the_failing_clauses(
    make_dossier: Callable[..., Dossier]
) -> None:
    [notice] = notices(screened(make_dossier(), "ineligible"), None, DEADLINES)
    assert notice.template == "application.screened.applicant" and "C7" in notice.facts["outcome"]


def test_a_county_recommendation_tells_the_applicant_and_enters_the_city_queue(
    make_dossier: Callable[..., Dossier]
) -> None:
    d = make_dossier()
    found = notices(recommended(d), case_in(Stage.COUNTY_REVIEW, make_dossier), DEADLINES)
    assert who(found) == [("application.recommended.applicant", d.applicant.credit_code),
                          ("application.recommended.city", "420100")]
    assert found[1].facts["deadline"] == "2026年12月10日"
    assert found[0].facts["department"] == "武汉市洪山区经信部门" and "同意推荐" in found[0].facts["opinion"]


def test_a_province_administered_unit_has_no_separate_city_queue(make_dossier: Callable[..., Dossier]) -> None:
    d = make_dossier(30)
    assert d.applicant.region_code.startswith("4290")
    found = notices(recommended(d), None, DEADLINES)
    assert [n.template for n in found] == ["application.recommended.applicant"]


def test_a_flagged_forward_asks_the_province_to_decide_by_its_deadline(make_dossier: Callable[..., Dossier]) -> None:
    found = notices(forwarded(make_dossier(), flagged=["C5"]), case_in(Stage.CITY_REVIEW, make_dossier), DEADLINES)
    assert who(found)[1] == ("application.forwarded.province", "42")
    assert "C5" in found[1].facts["next_step"] and "2026年12月20日" in found[1].facts["next_step"]
    plain = notices(forwarded(make_dossier()), case_in(Stage.CITY_REVIEW, make_dossier), DEADLINES)
    assert plain[1].facts["next_step"] == "进入专家评审"


def test_returns_rejections_and_exception_decisions_reach_the_applicant(make_dossier: Callable[..., Dossier]) -> None:
    d = make_dossier()
    assert who(notices(returned(d), None, {})) == [("application.returned.applicant", d.applicant.credit_code)]
    assert who(notices(rejected(d), None, {})) == [("application.rejected.applicant", d.applicant.credit_code)]
    refused = notices(exception_decided(d, approved=False), None, {})
    assert who(refused) == [("application.exception-decided.applicant", d.applicant.credit_code),
                            ("application.exception-decided.city", "420100")]
    assert refused[0].facts["decision"] == "不同意" and refused[0].facts["next_step"] == "本批次申报办理结束"


def test_a_withdrawal_tells_the_official_whose_queue_held_it(make_dossier: Callable[..., Dossier]) -> None:
    d = make_dossier()
    found = notices(withdrawn(d), case_in(Stage.CITY_REVIEW, make_dossier), {})
    assert who(found) == [("application.withdrawn.applicant", d.applicant.credit_code),
                          ("application.withdrawn.official", "420100")]
    assert found[1].facts["stage"] == "市州推荐" and found[0].facts["platform_name"] == d.platform.name
    assert who(notices(withdrawn(d), case_in(Stage.RETURNED, make_dossier), {}))[1:] == []


def test_a_schedule_tells_every_city_its_quota_and_the_deadlines(make_dossier: Callable[..., Dossier]) -> None:
    found = notices(scheduled(quotas={"420100": 3, "429004": 1}, county_review=date(2026, 12, 1)), None, {})
    assert who(found) == [("round.scheduled.city", "420100"), ("round.scheduled.city", "429004")]
    assert found[0].facts["quota"] == "3" and found[0].facts["deadlines"] == "县级初审截止2026年12月1日"
    assert found[1].facts["city_name"] == "仙桃市"


def test_a_late_event_does_not_move_the_case_back_nor_tell_an_official(make_dossier: Callable[..., Dossier]) -> None:
    d = make_dossier()
    at_province = case_in(Stage.EXCEPTION_REVIEW, make_dossier)
    assert advance(at_province, recommended(d)) == at_province
    assert who(notices(recommended(d), at_province, DEADLINES)) == [
        ("application.recommended.applicant", d.applicant.credit_code)]


def test_an_event_read_late_names_the_case_and_tells_no_official(make_dossier: Callable[..., Dossier]) -> None:
    """Notify reads each topic on its own: a withdrawal may come before the verdict that preceded it."""
    d = make_dossier()
    unnamed = advance(None, withdrawn(d))
    assert unnamed is not None and (unnamed.applicant_name, unnamed.platform_name) == ("", "")
    named = advance(unnamed, screened(d))
    assert named == unnamed.model_copy(update={"applicant_name": d.applicant.name, "platform_name": d.platform.name})
    told = who(notices(screened(d), unnamed, DEADLINES))
    assert told == [("application.screened.applicant", d.applicant.credit_code)]
    assert advance(named, submitted(make_dossier(1))) == named  # a name it has is kept


def test_a_resubmission_starts_the_case_again(make_dossier: Callable[..., Dossier]) -> None:
    d = make_dossier()
    was_returned = case_in(Stage.RETURNED, make_dossier)
    again = advance(was_returned, submitted(d, revision=2))
    assert again is not None and (again.revision, again.stage) == (2, Stage.SUBMITTED)
    assert advance(again, screened(d, revision=1)) == again  # the old verdict arrives late: ignored
    assert advance(again, screened(d, revision=2)).stage is Stage.COUNTY_REVIEW


def test_queues_and_the_level_above(make_dossier: Callable[..., Dossier]) -> None:
    assert holder(Stage.COUNTY_REVIEW, "420111", "420100") == "420111"
    assert holder(Stage.CITY_REVIEW, "420111", "420100") == "420100"
    assert holder(Stage.EXCEPTION_REVIEW, "420111", "420100") == "42"
    assert holder(Stage.EXPERT_REVIEW, "420111", "420100") is None
    assert above(Stage.COUNTY_REVIEW, "420111", "420100") == "420100"
    assert above(Stage.COUNTY_REVIEW, "429004", "429004") == "42"  # 仙桃 has no city level above it
    assert above(Stage.CITY_REVIEW, "420111", "420100") == "42"
    assert [department(c) for c in ("42", "420100", "429004")] == ["省经信厅", "武汉市经信部门", "仙桃市经信部门"]
    assert Level.COUNTY.value == "county"


def test_only_a_later_schedule_replaces_the_deadlines() -> None:
    first = schedule(None, scheduled(county_review=date(2026, 12, 1)))
    later = schedule(first, scheduled(at=NOW.replace(hour=5), county_review=date(2026, 12, 5)))
    assert later.deadlines == {"county_review": date(2026, 12, 5)}
    assert schedule(later, scheduled(county_review=date(2026, 12, 1))) == later  # a stale redelivery
