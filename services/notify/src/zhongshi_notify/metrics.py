"""Notify's Prometheus metrics: deliveries by channel and outcome, latency, webhook failures, reminders."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from zhongshi_notify.deadlines import ANNUAL_REPORT, PUBLICITY, RECTIFICATION, SCORING
from zhongshi_notify.domain import QUEUE_STAGES
from zhongshi_notify.planning import Channel

DEADLINES = (*(s.value for s in QUEUE_STAGES), SCORING, PUBLICITY, ANNUAL_REPORT, RECTIFICATION)


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.deliveries = Counter(
            "zhongshi_notify_deliveries_total",
            "Delivery outcomes by channel: sent, retry (failed, will be retried), failed (given up), held",
            ["channel", "outcome"], registry=registry,
        )
        self.latency = Histogram(
            "zhongshi_notify_delivery_seconds", "From planning a delivery to its successful send",
            ["channel"], registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600),
        )
        self.webhook_failures = Counter(
            "zhongshi_notify_webhook_failures_total", "Failed webhook attempts (non-2xx, timeout, refused)",
            registry=registry,
        )
        self.reminders = Counter(
            "zhongshi_notify_reminders_total",
            "Reminders and escalations fired, by deadline: a chain stage, scoring, publicity, annual_report or "
            "rectification",
            ["kind", "deadline"], registry=registry,
        )
        for channel in Channel:
            self.latency.labels(channel.value)
            for outcome in ("sent", "retry", "failed"):
                self.deliveries.labels(channel.value, outcome)
        for kind in ("reminder", "escalation"):
            for deadline in DEADLINES:
                self.reminders.labels(kind, deadline)
