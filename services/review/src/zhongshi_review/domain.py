"""Expert review, pure: conflicts of interest, the reproducible panel draw, scoring, aggregation,
ranking and the round's decision rule. No I/O, no clock."""

from __future__ import annotations

import hashlib
import json
import random
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, Field
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import ClauseResult
from zhongshi_contracts.names import fold_name
from zhongshi_contracts.recommendation import Opinion
from zhongshi_contracts.review import Decision
from zhongshi_runtime.errors import Refusal

from zhongshi_review.pool import Expert
from zhongshi_review.records import Declination, DrawCommitment, Panel
from zhongshi_review.rubric import Aggregation, RoundConfig, Rubric

CENT = Decimal("0.01")


class Candidate(BaseModel):
    """An application forwarded by its city, as review needs it (event-carried: review never calls intake)."""

    id: str
    round_id: str
    revision: int
    applicant_name: str
    applicant_credit_code: str
    platform_name: str
    region_code: str
    city_code: str
    priority: int
    forwarded_at: datetime
    awaiting_exception: bool = Field(description="Flagged C5/C6 not yet approved by the province.")
    withdrawn: bool = False
    declined_by_province: bool = False
    dossier: Dossier
    clauses: list[ClauseResult]
    opinions: list[Opinion]

    @property
    def ready(self) -> bool:
        return not (self.awaiting_exception or self.withdrawn or self.declined_by_province)

    def parties(self) -> list[tuple[str, str | None]]:
        """The applicant and its joint-construction partners: (name, credit code)."""
        partners = [(p.name, p.credit_code) for p in self.dossier.platform.partners]
        return [(self.applicant_name, self.applicant_credit_code), *partners]


class DrawFailed(Refusal):
    """Too few experts qualify; the message lists why candidates were excluded (409 when a request fails)."""


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def conflicts(expert: Expert, app: Candidate, settings: RoundConfig, today: date) -> list[str]:
    """Why ``expert`` may not judge ``app`` (empty: no conflict of interest). Reasons are in Chinese."""
    reasons = []
    names = {fold_name(name) for name, _ in app.parties()}  # compared folded: spacing or full-width forms hide none
    codes = {code for _, code in app.parties() if code}
    if fold_name(expert.organisation) in names or (expert.organisation_credit_code or "") in codes:
        reasons.append(f"与申报主体或共建方同单位（{expert.organisation}）")
    since = years_before(today, settings.conflict_years)
    for rel in expert.relations:
        related = fold_name(rel.organisation) in names or (rel.credit_code or "") in codes
        if related and (rel.end is None or rel.end >= since):
            reasons.append(f"近{settings.conflict_years}年与{rel.organisation}存在{_RELATION_LABELS[rel.kind]}关系")
    if settings.exclude_same_city and expert.city_code == app.city_code:
        reasons.append("与申报主体同属一个市州")
    return reasons


_RELATION_LABELS = {"employment": "任职", "shareholding": "持股", "collaboration": "合作"}


@dataclass(frozen=True)
class Draw:
    experts: list[str]
    candidates: int
    exclusions: dict[str, list[str]] = field(default_factory=dict)


def draw_panel(pool: list[Expert], app: Candidate, settings: RoundConfig, seed: str, today: date,
               *, size: int | None = None, exclude: frozenset[str] = frozenset()) -> Draw:
    """Draw ``size`` experts at random among the active, field-matching, conflict-free ones.

    Reproducible: the candidates are sorted by id and sampled with a generator seeded by ``seed`` and
    the application id, so anyone with the pool and the seed gets the same panel.
    """
    size = settings.panel_size if size is None else size
    clusters = set(app.dossier.platform.clusters)
    matching = [e for e in pool if e.active and clusters & set(e.fields) and e.id not in exclude]
    exclusions = {e.id: reasons for e in matching if (reasons := conflicts(e, app, settings, today))}
    eligible = sorted(e.id for e in matching if e.id not in exclusions)
    if len(eligible) < size:
        detail = "；".join(f"{expert}：{'、'.join(reasons)}" for expert, reasons in sorted(exclusions.items()))
        raise DrawFailed(
            f"符合领域的专家{len(matching)}名，排除利益冲突后仅{len(eligible)}名，不足{size}名。"
            + (f"排除原因——{detail}" if detail else "")
        )
    chosen = random.Random(f"{seed}/{app.id}").sample(eligible, size)  # noqa: S311 - reproducible, not secret
    return Draw(experts=chosen, candidates=len(eligible), exclusions=exclusions)


CONTACT_FIELDS = frozenset({"email", "phone"})  # never part of a snapshot: they do not affect a draw


def snapshot_of(pool: list[Expert]) -> tuple[str, list[Expert]]:
    """The pool without contact details, sorted by id, and its version: the SHA-256 of its canonical JSON.
    Any change that could change a draw changes the version."""
    experts = sorted((e.model_copy(update=dict.fromkeys(CONTACT_FIELDS, "")) for e in pool), key=lambda e: e.id)
    canonical = json.dumps([e.model_dump(mode="json", exclude=set(CONTACT_FIELDS)) for e in experts],
                           ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest(), experts


def commitment_of(seed: str) -> str:
    """The published commitment to a seed: its SHA-256 in hex."""
    return hashlib.sha256(seed.encode()).hexdigest()


def draw_rules(round_id: str, panel_size: int, conflict_years: int, exclude_same_city: bool) -> RoundConfig:
    """The settings a draw depends on, as fixed by the round's commitment (or recorded with a top-up)."""
    return RoundConfig(round_id=round_id, panel_size=panel_size, conflict_years=conflict_years,
                       exclude_same_city=exclude_same_city)


def committed_rules(commitment: DrawCommitment) -> RoundConfig:
    """The draw rules ``commitment`` fixed: every draw of its round keeps to them, a replacement or a top-up as
    much as the first, whatever the round's settings say now."""
    return draw_rules(commitment.round_id, commitment.panel_size, commitment.conflict_years,
                      commitment.exclude_same_city)


# ---- scoring ----

def without_member(panel: Panel, expert_id: str, reason: str, pool: list[Expert], app: Candidate,
                   settings: RoundConfig, now: datetime, today: date) -> tuple[Panel, str | None]:
    """The panel after ``expert_id`` declined, with a replacement drawn from those never on it (None when
    no eligible expert is left); computed from the panel as stored, so no other decline is undone."""
    declined = {d.expert_id for d in panel.declined} | {expert_id}
    try:
        drawn = draw_panel(pool, app, settings, f"{panel.seed}/redraw-{len(declined)}", today, size=1,
                           exclude=frozenset(declined | set(panel.experts)))
        replacement: str | None = drawn.experts[0]
    except DrawFailed:
        replacement = None
    experts = [replacement if e == expert_id else e for e in panel.experts]
    return panel.model_copy(update={
        "experts": [e for e in experts if e is not None],
        "declined": [*panel.declined, Declination(expert_id=expert_id, reason=reason, at=now)]}), replacement


class ScoreProblem(Exception):
    """A score sheet that does not fit the rubric (HTTP 422 naming the criterion)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_sheet(rubric: Rubric, scores: dict[str, int], comments: dict[str, str]) -> None:
    for criterion in rubric.criteria:
        if criterion.key not in scores:
            raise ScoreProblem(criterion.key, f"缺少“{criterion.title}”的评分")
        value = scores[criterion.key]
        if not 0 <= value <= criterion.max_score:
            raise ScoreProblem(criterion.key, f"“{criterion.title}”评分须在0至{criterion.max_score}之间")
        extreme = value <= rubric.comment_at_or_below or value >= rubric.comment_at_or_above
        if extreme and not comments.get(criterion.key, "").strip():
            raise ScoreProblem(criterion.key, f"“{criterion.title}”评分为{value}，须填写评语说明理由")
    unknown = sorted(set(scores) - {c.key for c in rubric.criteria})
    if unknown:
        raise ScoreProblem(unknown[0], f"评分标准中没有“{unknown[0]}”")


def weighted_total(rubric: Rubric, scores: dict[str, int]) -> Decimal:
    """The expert's total out of 100: each criterion contributes score / max × weight."""
    total = sum((Decimal(scores[c.key]) / c.max_score * c.weight for c in rubric.criteria), Decimal(0))
    return total.quantize(CENT, ROUND_HALF_UP)


def aggregate(totals: list[Decimal], method: Aggregation) -> Decimal:
    """The panel's score: mean, median, or the mean without one highest and one lowest (≥ 5 scores)."""
    if not totals:
        raise ValueError("no scores")
    values = sorted(totals)
    if method is Aggregation.MEDIAN:
        result = Decimal(statistics.median(values))
    else:
        if method is Aggregation.TRIMMED_MEAN and len(values) >= 5:
            values = values[1:-1]
        result = sum(values, Decimal(0)) / len(values)
    return result.quantize(CENT, ROUND_HALF_UP)


def divergent(totals: list[Decimal], threshold: Decimal) -> bool:
    return len(totals) > 1 and max(totals) - min(totals) > threshold


# ---- ranking and the decision rule ----

@dataclass(frozen=True)
class Scoring:
    """An application's finished review, as ranking needs it."""

    application_id: str
    score: Decimal | None  # None only when the on-site inspection failed before scoring finished
    outcomes_mean: Decimal  # the mean score of the tie-break criterion (service outcomes by default)
    priority: int  # the city's priority: the second tie-break
    inspection_failed: bool = False


@dataclass(frozen=True)
class Proposal:
    application_id: str
    decision: Decision
    score: Decimal | None
    rank: int | None
    reason: str


def rank_and_decide(entries: list[Scoring], settings: RoundConfig) -> list[Proposal]:
    """Rank by score (ties: higher service-outcomes score, then the city's priority, then application id);
    accredit at or above the accreditation line within the quota; cultivate at or above the cultivation
    line (including those above the accreditation line but beyond the quota); otherwise decline.
    An on-site inspection fail declines without a rank."""
    ranked = sorted((e for e in entries if not e.inspection_failed and e.score is not None),
                    key=lambda e: (-(e.score or 0), -e.outcomes_mean, e.priority, e.application_id))
    proposals = []
    for rank, e in enumerate(ranked, start=1):
        assert e.score is not None
        within = rank <= settings.quota
        if e.score >= settings.accreditation_line and within:
            decision = Decision.ACCREDIT
            why = f"达到认定线{settings.accreditation_line}且排名在认定名额{settings.quota}个以内"
        elif e.score >= settings.cultivation_line:
            decision = Decision.CULTIVATE
            why = (f"达到认定线但排名超出认定名额{settings.quota}个，达到培育线{settings.cultivation_line}"
                   if e.score >= settings.accreditation_line else f"达到培育线{settings.cultivation_line}")
        else:
            decision, why = Decision.DECLINE, f"未达到培育线{settings.cultivation_line}"
        proposals.append(Proposal(e.application_id, decision, e.score, rank, f"综合得分{e.score}，排名第{rank}，{why}"))
    proposals += [Proposal(e.application_id, Decision.DECLINE, e.score, None, "现场核查未通过")
                  for e in entries if e.inspection_failed]
    return proposals
