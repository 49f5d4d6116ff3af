"""Screening's own metrics: verdicts and their clauses, screening latency, and the recommendation chain."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from zhongshi_screening.chain import CASE_STAGES, Case
from zhongshi_screening.domain import Verdict

HOUR, DAY = 3600, 86400
STAGE_BUCKETS = (1, 10, 60, 600, HOUR, 6 * HOUR, DAY, 3 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 60 * DAY)


class ScreeningMetrics:
    """Verdicts by outcome, the clauses that failed or were flagged, and submission-to-verdict latency."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.verdicts = Counter(
            "zhongshi_screening_verdicts_total", "Screening verdicts by outcome", ["outcome"], registry=registry
        )
        self.failing_clauses = Counter(
            "zhongshi_screening_clause_results_total", "Clauses failed or flagged, by clause",
            ["clause", "status"], registry=registry,
        )
        self.latency = Histogram(
            "zhongshi_screening_latency_seconds", "Submission to screening verdict", registry=registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )

    def observe(self, verdict: Verdict, submitted_at: datetime, screened_at: datetime) -> None:
        self.verdicts.labels(verdict.outcome).inc()
        for clause in verdict.clauses:
            if clause.status != "pass":
                self.failing_clauses.labels(clause.clause, clause.status).inc()
        self.latency.observe(max(0.0, (screened_at - submitted_at).total_seconds()))


class ChainMetrics:
    """Department actions, applications by stage (gauges refreshed periodically) and time spent in each stage."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.actions = Counter("zhongshi_chain_actions_total", "Department actions in the recommendation chain",
                               ["action", "level"], registry=registry)
        self.by_stage = Gauge("zhongshi_applications_by_stage", "Applications by chain stage and city",
                              ["stage", "city"], registry=registry)
        self.overdue = Gauge("zhongshi_chain_overdue", "Applications past their stage deadline",
                             ["stage", "city"], registry=registry)
        self.stage_seconds = Histogram(
            "zhongshi_stage_seconds", "Time an application spent in a chain stage, observed as it leaves it",
            ["stage"], registry=registry, buckets=STAGE_BUCKETS,
        )
        for stage in CASE_STAGES:
            self.stage_seconds.labels(stage.value)

    def left(self, before: Case, after: Case) -> None:
        if after.stage is not before.stage:
            spent = (after.stage_since - before.stage_since).total_seconds()
            self.stage_seconds.labels(before.stage.value).observe(max(0.0, spent))
