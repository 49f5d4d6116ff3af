"""What review stores beyond the pool and the candidates: panels, score sheets, inspections, overrides."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field
from zhongshi_contracts.review import Decision


class Declination(BaseModel):
    expert_id: str
    reason: str
    at: datetime


class Panel(BaseModel):
    """The experts drawn for one application; the first is the panel lead (组长)."""

    application_id: str
    round_id: str
    panel_id: str
    seed: str
    experts: list[str]
    declined: list[Declination] = Field(default_factory=list)
    reconciliation: str | None = Field(None, description="The lead's note when the totals diverge.")
    drawn_at: datetime
    score_by: date | None = Field(None, description="Last day to score (None: drawn before rounds had one).")

    @property
    def lead(self) -> str:
        return self.experts[0]


class ScoreSheet(BaseModel):
    application_id: str
    panel_id: str
    expert_id: str
    rubric_version: str
    scores: dict[str, int]
    comments: dict[str, str] = Field(default_factory=dict)
    overall_comment: str = ""
    total: Decimal
    scored_at: datetime


class Inspection(BaseModel):
    """现场核查: an optional on-site inspection; a fail declines the application."""

    application_id: str
    passed: bool
    notes: str = ""
    at: datetime


class Override(BaseModel):
    """The province's written override of one proposed decision."""

    application_id: str
    decision: Decision
    justification: str = Field(min_length=2, max_length=2000)
    at: datetime


class ScoringStarted(BaseModel):
    """The first score sheet of a round fixed its rubric: from then on the rubric cannot change."""

    round_id: str
    rubric_version: str
    at: datetime


class RoundState(BaseModel):
    round_id: str
    confirmed_at: datetime | None = None


class CandidateNote(BaseModel):
    """What arrived about an application on other topics, possibly before its `forwarded` event."""

    exception_approved: bool | None = None
    withdrawn: bool = False
