"""Where each candidate's review stands, and the round's proposed decision list (reads only)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from zhongshi_review.domain import Candidate, Proposal, Scoring, aggregate, divergent, rank_and_decide
from zhongshi_review.records import Inspection, Panel, ScoreSheet
from zhongshi_review.repository import ReviewRepository
from zhongshi_review.rubric import RoundConfig


@dataclass(frozen=True)
class Standing:
    candidate: Candidate
    panel: Panel | None
    sheets: list[ScoreSheet]
    scoring: Scoring | None
    missing: str | None  # why the review is not finished, in Chinese

    @property
    def totals(self) -> list[Decimal]:
        return [s.total for s in self.sheets]


async def standing(repo: ReviewRepository, candidate: Candidate, settings: RoundConfig) -> Standing:
    return (await _standings(repo, [candidate], settings))[0]


def _sheet_keys(application_id: str, panel: Panel | None) -> list[tuple[str, str]]:
    """The sheets of the panel's experts, in the experts' order of ids."""
    return [(application_id, e) for e in sorted(panel.experts)] if panel else []


def standing_of(candidate: Candidate, panel: Panel | None, inspection: Inspection | None, sheets: list[ScoreSheet],
                settings: RoundConfig) -> Standing:
    """Where a candidate stands, from its panel, inspection and the sheets of its panel's experts."""
    if inspection is not None and not inspection.passed:
        return Standing(candidate, panel, sheets, _scoring(candidate, sheets, settings, failed=True), None)
    if panel is None:
        return Standing(candidate, None, [], None, "未组织专家评审")
    if len(panel.experts) < settings.panel_size:
        return Standing(candidate, panel, sheets, None, f"评审组不足{settings.panel_size}人，待补充抽取")
    mixed = sorted({s.rubric_version for s in sheets} - {settings.rubric.version})
    if mixed:  # never aggregate sheets of two rubrics (the rubric is pinned by the first sheet; this is a guard)
        return Standing(candidate, panel, sheets, None, f"存在按其他评分标准（{'、'.join(mixed)}）提交的评分表")
    if len(sheets) < len(panel.experts):
        return Standing(candidate, panel, sheets, None, f"尚有{len(panel.experts) - len(sheets)}名专家未评分")
    if divergent([s.total for s in sheets], settings.divergence_threshold) and not panel.reconciliation:
        return Standing(candidate, panel, sheets, None, "专家评分分歧超过阈值，待评审组组长出具协调意见")
    return Standing(candidate, panel, sheets, _scoring(candidate, sheets, settings), None)


def _scoring(candidate: Candidate, sheets: list[ScoreSheet], settings: RoundConfig,
             failed: bool = False) -> Scoring:
    key = settings.tie_break_criterion
    tie = [Decimal(s.scores[key]) for s in sheets if key in s.scores]
    return Scoring(
        application_id=candidate.id,
        score=aggregate([s.total for s in sheets], settings.aggregation) if sheets else None,
        outcomes_mean=sum(tie, Decimal(0)) / len(tie) if tie else Decimal(0),
        priority=candidate.priority, inspection_failed=failed,
    )


async def round_standings(repo: ReviewRepository, round_id: str) -> tuple[RoundConfig, list[Standing]]:
    settings = await repo.round_config(round_id)
    return settings, await _standings(repo, await repo.ready_candidates(round_id), settings)


async def _standings(repo: ReviewRepository, candidates: list[Candidate], settings: RoundConfig) -> list[Standing]:
    """Where each candidate stands, read in a few queries for all of them (not three per candidate)."""
    ids = [c.id for c in candidates]
    panels, inspections = await repo.panels_by_id(ids), await repo.inspections_by_id(ids)
    keys = {c.id: _sheet_keys(c.id, panels.get(c.id)) for c in candidates}
    sheets = await repo.sheets(k for ks in keys.values() for k in ks)
    return [standing_of(c, panels.get(c.id), inspections.get(c.id), [sheets[k] for k in keys[c.id] if k in sheets],
                        settings) for c in candidates]


def propose(settings: RoundConfig, standings: list[Standing]) -> list[Proposal]:
    return rank_and_decide([s.scoring for s in standings if s.scoring is not None], settings)
