"""Events of expert review: panels, declines, scores, decisions (评审认定,
《湖北省制造业中试平台培育建设工作指引》六（三）)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from zhongshi_contracts import topics
from zhongshi_contracts.events import Event
from zhongshi_contracts.privacy import PERSONAL, Classification, mark_fields


class Decision(StrEnum):
    ACCREDIT = "accredit"  # 认定为省级制造业中试平台
    CULTIVATE = "cultivate"  # 列为培育对象
    DECLINE = "decline"  # 未通过


DECISION_LABELS = {Decision.ACCREDIT: "拟认定为省级制造业中试平台", Decision.CULTIVATE: "拟列为培育对象",
                   Decision.DECLINE: "未通过评审"}


class PanelDrawn(Event):
    """A panel of experts was drawn at random, reproducibly, among those whose fields match and who have
    no conflict of interest. Experts are named by id only."""

    topic = topics.REVIEW_PANEL_DRAWN
    internal_topic = topics.REVIEW_PANEL_DRAWN_INTERNAL
    panel_id: str
    experts: Annotated[list[str], PERSONAL] = Field(description="Expert ids; the first is the panel lead.")
    seed: str = Field(description="The recorded seed: the same pool, application and seed give the same panel.")
    candidates: int = Field(ge=0, description="How many experts qualified.")
    excluded: int = Field(ge=0, description="How many field-matching experts were excluded for conflicts.")
    drawn_at: datetime
    score_by: date | None = Field(
        None, description="Last day (Asia/Shanghai, inclusive) for the panel's experts to score, from the round's "
                          "review settings; a replacement drawn after a decline inherits it. None: no deadline set.",
        examples=["2026-12-07"])
    commitment: str | None = Field(
        None, description="SHA-256 (hex) of `seed`, published before the round's first draw (commit-reveal): "
                          "the seed was fixed before anyone could see what it draws. None: drawn before commitments.")
    pool_version: str | None = Field(
        None, description="The expert-pool snapshot drawn from (SHA-256 of its canonical JSON, contacts left out); "
                          "with the seed it lets the draw be re-run. None: drawn before snapshots.")
    topped_up: Annotated[list[str], PERSONAL] = Field(
        default_factory=list, description="Experts added to a panel short of members (a decline without a "
                                          "replacement); empty for a first draw. `experts` is the whole panel.")


class AssignmentDeclined(Event):
    """An expert declined an assignment (declaring a conflict); a replacement was drawn when one qualified."""

    topic = topics.REVIEW_ASSIGNMENT_DECLINED
    internal_topic = topics.REVIEW_ASSIGNMENT_DECLINED_INTERNAL
    panel_id: str
    expert_id: Annotated[str, PERSONAL]
    reason: Annotated[str, PERSONAL] = Field(description="The declared reason, Simplified Chinese.")
    replacement: Annotated[str | None, PERSONAL] = Field(description="The expert drawn in their place, if any.")
    declined_at: datetime


class Scored(Event):
    """An expert scored an assigned application against the round's rubric."""

    topic = topics.REVIEW_SCORED
    internal_topic = topics.REVIEW_SCORED_INTERNAL
    panel_id: str
    expert_id: Annotated[str, PERSONAL]
    rubric_version: str
    total: Decimal = Field(description="The expert's weighted total, 0–100.")
    scores: dict[str, int] = Field(description="Criterion → score.")
    scored_at: datetime


class PanelMember(BaseModel):
    model_config = ConfigDict(frozen=True, json_schema_extra=mark_fields)
    classification: ClassVar[Classification] = Classification.PUBLIC

    expert_id: Annotated[str, PERSONAL]
    total: Decimal | None = Field(description="This expert's total, once scoring closed.")


class ReviewDecided(Event):
    """The province confirmed the round's decision for this application."""

    topic = topics.REVIEW_DECIDED
    internal_topic = topics.REVIEW_DECIDED_INTERNAL
    decision: Decision
    score: Decimal | None = Field(description="The aggregated score (None when not scored, e.g. inspection fail).")
    rank: int | None = Field(description="Rank within the round, 1 = best (None when not ranked).")
    rubric_version: str
    aggregation: str = Field(examples=["trimmed_mean"])
    accreditation_line: Decimal | None = Field(None, description="The round's accreditation line (认定分数线) the "
                                               "decision was proposed against; absent in events before it was kept.")
    cultivation_line: Decimal | None = Field(None, description="The round's cultivation line (培育分数线).")
    quota: int | None = Field(None, description="How many the round accredits (认定名额).")
    decided_in_round: int | None = Field(None, ge=1, description="How many applications the round's "
                                         "confirmation decided, carried by each of its decisions: a consumer "
                                         "knows when it holds them all. Absent in events before it was kept.")
    panel: list[PanelMember]
    overridden: bool = Field(description="The province overrode the proposed decision.")
    justification: str = Field(description="Why, in Simplified Chinese (the override's or the rule's).")
    platform_name: str
    applicant_name: str
    applicant_credit_code: str
    region_code: str
    city_code: str
    decided_at: datetime
