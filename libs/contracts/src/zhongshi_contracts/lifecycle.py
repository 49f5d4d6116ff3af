"""The application lifecycle every service follows: its stages, their Chinese names, the stage each event
leads to, and the order in which stages follow each other, so events arriving out of order settle alike."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from zhongshi_contracts.events import (
    ApplicationScreened,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    Event,
    ScreeningOutcome,
)
from zhongshi_contracts.recommendation import (
    ApplicationExceptionDecided,
    ApplicationForwarded,
    ApplicationRecommended,
    ApplicationRejected,
    ApplicationReturned,
)
from zhongshi_contracts.registry import PlatformAccredited, PlatformCultivationListed
from zhongshi_contracts.review import Decision, ReviewDecided


class Stage(StrEnum):
    """Where an application stands. Intake shows the applicant a finer view of screening (eligible,
    needs exception, returned) where screening and notify see county review or screened out."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    ELIGIBLE = "eligible"
    NEEDS_EXCEPTION = "needs_exception"
    SCREENED_OUT = "screened_out"
    COUNTY_REVIEW = "county_review"
    CITY_REVIEW = "city_review"
    EXCEPTION_REVIEW = "exception_review"
    EXPERT_REVIEW = "expert_review"
    RETURNED = "returned"
    REJECTED = "rejected"
    DECLINED = "declined"
    PROPOSED_ACCREDITATION = "proposed_accreditation"
    PROPOSED_CULTIVATION = "proposed_cultivation"
    REVIEW_DECLINED = "review_declined"
    ACCREDITED = "accredited"
    CULTIVATION = "cultivation"
    OBJECTION_UPHELD = "objection_upheld"
    WITHDRAWN = "withdrawn"


# The glossary's name of each stage: what an official's queue, a reminder or a notice calls it.
NAMES: dict[Stage, str] = {
    Stage.DRAFT: "草稿", Stage.SUBMITTED: "形式审查", Stage.ELIGIBLE: "县级初审", Stage.NEEDS_EXCEPTION: "县级初审",
    Stage.SCREENED_OUT: "形式审查未通过", Stage.COUNTY_REVIEW: "县级初审", Stage.CITY_REVIEW: "市州推荐",
    Stage.EXCEPTION_REVIEW: "省级例外认定", Stage.EXPERT_REVIEW: "专家评审", Stage.RETURNED: "退回修改",
    Stage.REJECTED: "不予推荐", Stage.DECLINED: "例外认定未通过", Stage.PROPOSED_ACCREDITATION: "拟认定（公示）",
    Stage.PROPOSED_CULTIVATION: "拟列为培育对象（公示）", Stage.REVIEW_DECLINED: "未通过专家评审",
    Stage.ACCREDITED: "省级制造业中试平台", Stage.CULTIVATION: "培育对象", Stage.OBJECTION_UPHELD: "异议成立，不予认定",
    Stage.WITHDRAWN: "已撤回",
}

# What the applicant reads on its application: the stage and what comes next.
DESCRIPTIONS: dict[Stage, str] = {
    Stage.DRAFT: "草稿",
    Stage.SUBMITTED: "已提交，待形式审查",
    Stage.ELIGIBLE: "形式审查通过，待县级初审",
    Stage.NEEDS_EXCEPTION: "形式审查通过（部分条件待省级例外认定），待县级初审",
    Stage.SCREENED_OUT: "形式审查未通过，已退回申报主体修改",
    Stage.COUNTY_REVIEW: "形式审查通过，待县级初审",
    Stage.RETURNED: "已退回申报主体修改，可在申报期内修改后重新提交",
    Stage.CITY_REVIEW: "县级已推荐，待市州推荐",
    Stage.EXCEPTION_REVIEW: "市州已推荐至省经信厅，待省级例外认定",
    Stage.EXPERT_REVIEW: "已推荐至省经信厅，待专家评审",
    Stage.REJECTED: "不予推荐（本批次办结）",
    Stage.DECLINED: "例外认定未通过（本批次办结）",
    Stage.PROPOSED_ACCREDITATION: "专家评审通过，拟认定为省级制造业中试平台（待公示）",
    Stage.PROPOSED_CULTIVATION: "专家评审后拟列为培育对象（待公示）",
    Stage.REVIEW_DECLINED: "未通过专家评审（本批次办结）",
    Stage.ACCREDITED: "公示期满，已认定为省级制造业中试平台",
    Stage.CULTIVATION: "公示期满，已列为培育对象",
    Stage.OBJECTION_UPHELD: "公示期间异议成立，不予认定（本批次办结）",
    Stage.WITHDRAWN: "已撤回",
}

# The stages in which the applicant may still edit and (re)submit its dossier.
EDITABLE = (Stage.DRAFT, Stage.RETURNED)
# The stages of the recommendation chain, up to the hand-over to expert review (screening's and notify's cases).
CHAIN_STAGES = (Stage.SUBMITTED, Stage.SCREENED_OUT, Stage.COUNTY_REVIEW, Stage.CITY_REVIEW, Stage.EXCEPTION_REVIEW,
                Stage.EXPERT_REVIEW, Stage.RETURNED, Stage.REJECTED, Stage.DECLINED, Stage.WITHDRAWN)
CHAIN_ENDS = (Stage.SCREENED_OUT, Stage.RETURNED, Stage.REJECTED, Stage.DECLINED)
DECIDED = (Stage.PROPOSED_ACCREDITATION, Stage.PROPOSED_CULTIVATION, Stage.REVIEW_DECLINED)
LISTED = (Stage.ACCREDITED, Stage.CULTIVATION, Stage.OBJECTION_UPHELD)
# Where a submitted application's round ends for it: withdrawal is possible until the decision, not after.
FINAL = (Stage.WITHDRAWN, Stage.REJECTED, Stage.DECLINED, *DECIDED, *LISTED)

# Within one submission a stage only gives way to one of higher rank; withdrawal ends everything.
RANK: dict[Stage, int] = {
    Stage.DRAFT: 0, Stage.SUBMITTED: 1, Stage.ELIGIBLE: 2, Stage.NEEDS_EXCEPTION: 2, Stage.COUNTY_REVIEW: 2,
    Stage.CITY_REVIEW: 3, Stage.EXCEPTION_REVIEW: 4, Stage.EXPERT_REVIEW: 5, **dict.fromkeys(CHAIN_ENDS, 6),
    **dict.fromkeys(DECIDED, 7), **dict.fromkeys(LISTED, 8), Stage.WITHDRAWN: 9,
}
# Review and listing events name no submission: they come after every step of the last one.
AFTER_EVERY_SUBMISSION = 1 << 30

DECISION_STAGE = {Decision.ACCREDIT: Stage.PROPOSED_ACCREDITATION, Decision.CULTIVATE: Stage.PROPOSED_CULTIVATION,
                  Decision.DECLINE: Stage.REVIEW_DECLINED}
# The applicant's view of a screening verdict (intake): eligible or not, and whether an exception is pending.
SCREENING_STAGE = {ScreeningOutcome.ELIGIBLE: Stage.ELIGIBLE, ScreeningOutcome.NEEDS_EXCEPTION: Stage.NEEDS_EXCEPTION,
                   ScreeningOutcome.INELIGIBLE: Stage.RETURNED}


def stage_after(event: Event) -> Stage | None:
    """The stage ``event`` leads its application to (the chain's view of screening); None: it moves none."""
    match event:
        case ApplicationSubmitted():
            return Stage.SUBMITTED
        case ApplicationScreened():
            return Stage.SCREENED_OUT if event.outcome is ScreeningOutcome.INELIGIBLE else Stage.COUNTY_REVIEW
        case ApplicationRecommended():
            return Stage.CITY_REVIEW
        case ApplicationForwarded():
            return Stage.EXCEPTION_REVIEW if event.flagged else Stage.EXPERT_REVIEW
        case ApplicationExceptionDecided():
            return Stage.EXPERT_REVIEW if event.approved else Stage.DECLINED
        case ApplicationReturned():
            return Stage.RETURNED
        case ApplicationRejected():
            return Stage.REJECTED
        case ApplicationWithdrawn():
            return Stage.WITHDRAWN
        case ReviewDecided():
            return DECISION_STAGE[event.decision]
        case PlatformAccredited():
            return Stage.ACCREDITED
        case PlatformCultivationListed():
            return Stage.CULTIVATION
    return None


class Position(NamedTuple):
    """An application's stage and the submission it concerns; positions compare in lifecycle order."""

    revision: int
    rank: int
    stage: Stage


def position(revision: int | None, stage: Stage) -> Position:
    """``revision`` None: an event after every submission (review, listing)."""
    return Position(AFTER_EVERY_SUBMISSION if revision is None else revision, RANK[stage], stage)


def position_after(event: Event) -> Position | None:
    """Where ``event`` puts its application; None when it moves no stage."""
    stage = stage_after(event)
    return None if stage is None else position(getattr(event, "revision", None), stage)


def advance(current: Position | None, event: Event) -> Position | None:
    """The later of ``current`` and where ``event`` leads: folding an application's events in any order
    ends at the same position as folding them in the order they happened."""
    after = position_after(event)
    if after is None or (current is not None and after <= current):
        return current
    return after
