"""Intake's own metrics: what applicants and the province do (drafts, edits, submissions, withdrawals, rounds)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class IntakeMetrics:
    """Requests that changed something, by action (``application.submit``, ``round.open``, ...)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.actions = Counter("zhongshi_intake_actions_total", "Changes made through intake's API, by action",
                               ["action"], registry=registry)

    def did(self, action: str) -> None:
        self.actions.labels(action).inc()
