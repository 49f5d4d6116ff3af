"""`make bench`'s charts: drawn from the figures and time series results.json holds, as PNG files."""

from __future__ import annotations

import math
from pathlib import Path

from prometheus_client import generate_latest
from zhongshi_runtime.metrics import RuntimeMetrics

from bench import charts
from bench.sampler import Sampler, totals

PNG = b"\x89PNG\r\n\x1a\n"


def series() -> dict:  # type: ignore[type-arg]
    samples = []
    for t in range(12):
        samples.append({"t": float(t), "handled": {"intake": 10.0 * t, "notify": 4.0 * t},
                        "http": {"registry": 100.0 * t}, "lag": {"notify": max(0, 30 - 5 * t), "review": 0}})
    return {"every_s": 1.0, "marks": [[0.0, "p1 all five"], [3.0, "p2"], [9.0, "p3"]], "samples": samples}


def soaked() -> dict:  # type: ignore[type-arg]
    samples = [{"t": 10.0 * k, "pss_mb": {"intake": 90.0 + k, "notify": 80.0, "broker": 200.0 + 10 * k}}
               for k in range(10)]
    return {"rate_per_s": 5, "warm_up_s": 20, "samples": samples, "five_services": {"growth_pct": 3.5}}


def profiled() -> dict:  # type: ignore[type-arg]
    return {"intake": {"samples": 900, "core_share": 0.4,
                       "shares": {"PyMongo, BSON": 0.4, "pydantic": 0.35, "other": 0.25}},
            "notify": {"samples": 300, "shares": {"PyMongo, BSON": 0.7, "zhongshi": 0.3}},
            "load": {"applications_per_s": 20.0}}


def test_every_chart_is_drawn_from_the_figures(tmp_path: Path) -> None:
    figures = {"sizes": {"smoke": True}, "conditions_at_start": {"load_average_1m": 1.5},
               "p1": {"steady_20_per_s": {"latencies_ms": [40.0 + i % 17 for i in range(200)]},
                      "path_steady_20_per_s": {"latencies_ms": [20.0 + i % 7 for i in range(200)]}},
               "timeseries": series(), "soak": soaked(), "profile": profiled()}
    drawn = charts.draw(figures, tmp_path)
    assert sorted(p.name for p in drawn) == ["p1-latency.png", "p2-consumer-lag.png", "profile.png", "soak-memory.png",
                                             "throughput.png"]
    assert all(p.read_bytes().startswith(PNG) and p.stat().st_size > 5000 for p in drawn)


def test_a_run_without_latencies_or_series_draws_what_it_can(tmp_path: Path) -> None:
    assert charts.draw({"sizes": {"smoke": True}}, tmp_path) == []


def test_rates_are_per_second_and_a_stopped_or_restarted_service_is_a_gap() -> None:
    samples = [{"t": 0.0, "handled": {"a": 0.0}}, {"t": 2.0, "handled": {"a": 10.0}},
               {"t": 3.0, "handled": {"a": 1.0}}, {"t": 4.0, "handled": {"a": 4.0}},
               {"t": 5.0, "handled": {}}, {"t": 9.0, "handled": {"a": 8.0}}, {"t": 10.0, "handled": {"a": 10.0}}]
    times, rates = charts._rates(samples, "handled")["a"]
    assert times == [2.0, 3.0, 4.0, 9.0, 10.0]
    assert [None if math.isnan(r) else r for r in rates] == [5.0, None, 3.0, None, 2.0]


def test_the_sampler_adds_up_handled_events_and_http_requests() -> None:
    metrics = RuntimeMetrics("probe")
    for topic, n in (("a", 3), ("b", 4)):
        for _ in range(n):
            metrics.handled.labels("probe", topic).observe(0.01)
    metrics.http_requests.labels("probe", "GET", "/x", "2xx").inc(7)
    assert totals(generate_latest(metrics.registry).decode()) == {"handled": 7.0, "http": 7.0}


def test_notify_has_caught_up_when_two_samples_running_show_nothing_to_commit() -> None:
    sampler = Sampler(lambda: "", dict, every_s=0.01)
    sampler.t0 -= 10  # samples are timed from the sampler's start
    sampler.samples = [{"t": 10.5, "lag": {"notify": 0}}, {"t": 11.0, "lag": {"notify": 4}},
                       {"t": 12.0, "lag": {"notify": 0}}, {"t": 13.0, "lag": {"notify": 0}}]
    assert sampler.caught_up("notify", within_s=1) == 2.0
    assert sampler.caught_up("review", within_s=0.05) is None
