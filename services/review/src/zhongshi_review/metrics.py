"""Review's Prometheus metrics: panels drawn, declines, score sheets and the decisions confirmed."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter
from zhongshi_contracts.review import Decision


class ReviewMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.panels = Counter("zhongshi_review_panels_drawn_total",
                              "Panels drawn, and panels topped up after a decline", ["kind"], registry=registry)
        self.draw_failures = Counter("zhongshi_review_draw_failures_total",
                                     "Candidates for whom too few conflict-free experts qualified", registry=registry)
        self.declines = Counter("zhongshi_review_declines_total", "Assignments declined by their expert",
                                registry=registry)
        self.sheets = Counter("zhongshi_review_sheets_total", "Score sheets submitted", registry=registry)
        self.decisions = Counter("zhongshi_review_decisions_total", "Decisions confirmed with their round",
                                 ["decision"], registry=registry)
        for kind in ("draw", "top_up"):
            self.panels.labels(kind)
        for decision in Decision:
            self.decisions.labels(decision.value)
