"""What review stores beyond the pool and the candidates: panels, score sheets, inspections, overrides."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field
from zhongshi_contracts.review import Decision
from zhongshi_runtime.store import Versioned

from zhongshi_review.pool import Expert


class Declination(BaseModel):
    expert_id: str
    reason: str
    at: datetime


class TopUp(BaseModel):
    """Experts added to a panel short of members (a decline without a replacement), from the pool then."""

    experts: list[str]
    seed: str
    pool_version: str
    excluded: list[str] = Field(description="Declined or already on the panel when topped up.")
    size: int
    conflict_years: int
    exclude_same_city: bool
    on: date = Field(description="The day conflicts of interest were judged (Asia/Shanghai).")
    at: datetime


class Panel(Versioned):
    """The experts drawn for one application; the first is the panel lead (组长). Written over its version."""

    application_id: str
    round_id: str
    panel_id: str
    seed: str
    experts: list[str]
    declined: list[Declination] = Field(default_factory=list)
    reconciliation: str | None = Field(None, description="The lead's note when the totals diverge.")
    drawn_at: datetime
    score_by: date | None = Field(None, description="Last day to score (None: drawn before rounds had one).")
    commitment: str | None = Field(None, description="The round's draw commitment (None: drawn before commitments).")
    pool_version: str | None = Field(None, description="The pool snapshot the panel was drawn from.")
    drawn: list[str] = Field(default_factory=list, description="The experts as first drawn, before declines.")
    top_ups: list[TopUp] = Field(default_factory=list)

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


class DrawCommitment(BaseModel):
    """Fixed when a round's draw opens, before any panel: the hash of a secret seed the server generated, the
    pool snapshot and the draw rules. The first draw reveals the seed; anyone can then check its hash and
    re-run every panel from the snapshot."""

    round_id: str
    commitment: str = Field(description="SHA-256 (hex) of the seed.")
    seed: str = Field(description="Secret until the first draw reveals it.")
    pool_version: str = Field(description="The pool snapshot the round's panels are drawn from.")
    panel_size: int
    conflict_years: int
    exclude_same_city: bool
    on: date = Field(description="The day conflicts of interest are judged (Asia/Shanghai): the commitment's day.")
    committed_at: datetime
    revealed_at: datetime | None = None

    def published(self) -> dict[str, object]:
        """What may be shown: everything but the seed until it is revealed."""
        return self.model_dump(mode="json", exclude=set() if self.revealed_at else {"seed"})


class PoolSnapshot(BaseModel):
    """The expert pool at one moment, without contact details, keyed by its version (its content hash)."""

    version: str
    experts: list[Expert]
    taken_at: datetime


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
