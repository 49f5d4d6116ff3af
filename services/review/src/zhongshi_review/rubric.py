"""Per-round review configuration as versioned data: the rubric, aggregation, panel size, lines, quota."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Criterion(BaseModel):
    """One criterion: scored from 0 to ``max_score``; ``weight`` points of the 100-point total."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(pattern=r"^[a-z_]{1,40}$")
    title: str = Field(min_length=1, max_length=100)
    weight: Decimal = Field(gt=0, le=100)
    max_score: int = Field(10, ge=1, le=100)


class Rubric(BaseModel):
    """评分标准: criteria with weights summing to 100; comments required at the extremes."""

    model_config = ConfigDict(frozen=True)

    version: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    criteria: list[Criterion] = Field(min_length=1)
    comment_at_or_below: int = Field(3, description="A score this low needs a comment.")
    comment_at_or_above: int = Field(9, description="A score this high needs a comment.")

    @model_validator(mode="after")
    def _weights_make_100(self) -> Self:
        if sum(c.weight for c in self.criteria) != 100:
            raise ValueError("各评分项权重之和须为100")
        if len({c.key for c in self.criteria}) != len(self.criteria):
            raise ValueError("评分项 key 重复")
        return self

    def criterion(self, key: str) -> Criterion:
        return next(c for c in self.criteria if c.key == key)


class Aggregation(StrEnum):
    MEAN = "mean"
    MEDIAN = "median"
    TRIMMED_MEAN = "trimmed_mean"  # drop one highest and one lowest when there are ≥ 5 scores


# The default follows the eight construction paths of 《湖北省制造业中试平台培育建设工作指引》五、建设路径,
# plus service outcomes (五、条件要求, C8).
DEFAULT_RUBRIC = Rubric(
    version="hubei-review-2025-v1",
    criteria=[
        Criterion(key="operating_model", title="运营模式", weight=Decimal(10)),
        Criterion(key="diversified_funding", title="多元投入", weight=Decimal(10)),
        Criterion(key="test_infrastructure", title="试验设施", weight=Decimal(15)),
        Criterion(key="technical_support", title="技术支撑体系", weight=Decimal(10)),
        Criterion(key="test_scenarios", title="试验场景", weight=Decimal(10)),
        Criterion(key="talent_team", title="人才队伍", weight=Decimal(10)),
        Criterion(key="self_operation", title="自我造血能力", weight=Decimal(10)),
        Criterion(key="public_service", title="公共服务水平", weight=Decimal(10)),
        Criterion(key="service_outcomes", title="服务成效", weight=Decimal(15)),
    ],
)


class RoundConfig(BaseModel):
    """A round's review settings (versioned with the round; defaults documented in the README)."""

    model_config = ConfigDict(frozen=True)

    round_id: str
    panel_size: int = Field(5, ge=1, le=15)
    conflict_years: int = Field(3, ge=0, le=20, description="A relation this recent is a conflict of interest.")
    exclude_same_city: bool = False
    rubric: Rubric = DEFAULT_RUBRIC
    aggregation: Aggregation = Aggregation.TRIMMED_MEAN
    divergence_threshold: Decimal = Field(Decimal(20), ge=0, description="Max − min of totals above this is flagged.")
    accreditation_line: Decimal = Field(Decimal(80), ge=0, le=100)
    cultivation_line: Decimal = Field(Decimal(70), ge=0, le=100)
    quota: int = Field(10, ge=0, description="How many the province accredits in the round.")
    tie_break_criterion: str = Field("service_outcomes", description="Equal scores: the higher mean here ranks first.")
    scoring_days: int = Field(10, ge=1, le=90, description="Experts score by the day the panel is drawn "
                              "(Asia/Shanghai) plus this many calendar days; notify reminds and escalates.")

    def score_by(self, drawn_on: date) -> date:
        """The last day to score for a panel drawn on ``drawn_on`` (a replacement keeps its panel's day)."""
        return drawn_on + timedelta(days=self.scoring_days)

    @model_validator(mode="after")
    def _lines_ordered(self) -> Self:
        if self.cultivation_line > self.accreditation_line:
            raise ValueError("培育线不得高于认定线")
        keys = [c.key for c in self.rubric.criteria]
        if self.tie_break_criterion not in keys:  # else every tie-break mean is 0 and ties fall to city priority
            raise ValueError(f"同分比较项 {self.tie_break_criterion} 不在评分标准中，可选：{'、'.join(keys)}")
        return self
