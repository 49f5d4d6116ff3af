"""The benchmark's figures: percentiles, ratios against the baselines measured in the same run, the table
and `bench/results.json`. Pure, so a unit test can run it without a stack."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results.json")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ratio(ours: float, baseline: float) -> float:
    """Ours as a fraction of the baseline (1.0 = as fast as the bare loop)."""
    return ours / baseline if baseline else 0.0


def conditions() -> dict[str, Any]:
    """Under what the figures were taken: a loaded machine makes every figure worse."""
    load1, load5, _ = os.getloadavg()
    return {"at": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "load_average_1m": round(load1, 2), "load_average_5m": round(load5, 2),
            "python": platform.python_version()}


def _get(figures: dict[str, Any], path: str) -> Any:
    value: Any = figures
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


ROWS: tuple[tuple[str, str, str, str], ...] = (
    # label, figure, baseline (or ""), unit
    ("P1 submit→screened, intake+screening", "p1.path.applications_per_s", "p1.bare.applications_per_s", "apps/s"),
    ("P1 submit→screened, all five services", "p1.all_services.applications_per_s", "p1.bare.applications_per_s",
     "apps/s"),
    ("P1 p50 submit→screened at 20/s, path", "p1.path_steady_20_per_s.p50_ms", "", "ms"),
    ("P1 p99 submit→screened at 20/s, path", "p1.path_steady_20_per_s.p99_ms", "", "ms"),
    ("P1 p50 submit→screened at 20/s, all five", "p1.steady_20_per_s.p50_ms", "", "ms"),
    ("P1 p99 submit→screened at 20/s, all five", "p1.steady_20_per_s.p99_ms", "", "ms"),
    ("P2 round through every stage", "p2.wall_s", "", "s"),
    ("P2 notify caught up, after the round's end", "p2.notify_catch_up_s", "", "s"),
    ("notify planning, grouped ÷ one at a time", "planning.together.events_per_s",
     "planning.alone.events_per_s", "events/s"),
    ("notify planning, commands an event", "planning.together.commands_per_event",
     "planning.alone.commands_per_event", "cmds"),
    ("notify planning, CPU an event (and db)", "planning.together.cpu_ms_per_event",
     "planning.alone.cpu_ms_per_event", "ms"),
    ("P3 public list, max throughput", "p3.list.max.requests_per_s", "p3.bare_list.max.requests_per_s", "req/s"),
    ("P3 public list, p99 at 200 rps", "p3.list.at_200.p99_ms", "p3.bare_list.at_200.p99_ms", "ms"),
    ("P3 entry detail, max throughput", "p3.detail.max.requests_per_s", "p3.bare_detail.max.requests_per_s",
     "req/s"),
    ("P3 entry detail, p99 at 200 rps", "p3.detail.at_200.p99_ms", "p3.bare_detail.at_200.p99_ms", "ms"),
    ("P4 registry rebuild ÷ raw consume+write", "p4.rebuild.records_per_s",
     "p4.raw_consume_and_write.records_per_s", "records/s"),
    ("P4 registry rebuild ÷ raw consume alone", "p4.rebuild.records_per_s", "p4.raw_consume.records_per_s",
     "records/s"),
    ("soak: five services' PSS growth", "soak.five_services.growth_pct", "", "%"),
    ("soak: the broker's PSS growth (apart)", "soak.each.broker.growth_pct", "", "%"),
    ("P5 cold start to all healthy", "p5.cold_start_s", "", "s"),
    ("P5 total PSS idle", "p5.pss_mb.idle", "", "MB"),
    ("P5 total PSS after load", "p5.pss_mb.after_load", "", "MB"),
)


def table(figures: dict[str, Any]) -> str:
    """One line per figure: ours, the bare baseline of the same run, and ours as a share of it."""
    lines = [f"{'figure':<42}{'ours':>11}{'baseline':>11}{'ratio':>8}  unit", "-" * 80]
    for label, path, base_path, unit in ROWS:
        ours = _get(figures, path)
        if ours is None:
            continue
        base = _get(figures, base_path) if base_path else None
        shown_base = f"{base:>11.1f}" if base is not None else f"{'':>11}"
        shown_ratio = f"{ratio(ours, base):>8.2f}" if base else f"{'':>8}"
        lines.append(f"{label:<42}{ours:>11.1f}{shown_base}{shown_ratio}  {unit}")
    extra = _get(figures, "p2.applications")
    if extra is not None:
        lines.append(f"  (P2: {extra} applications; stage times {_get(figures, 'p2.stages_s')})")
    load = _get(figures, "conditions.load_average_1m")
    if load is not None:
        lines.append(f"  (load average at the end: {load}; {figures['conditions']['cpus']} cores)")
    return "\n".join(lines)


def write(figures: dict[str, Any], path: Path = RESULTS) -> None:
    """Write the figures (with ratios to their baselines) as JSON."""
    figures["ratios"] = {}
    for _, path_, base, _ in ROWS:
        if base and _get(figures, path_) is not None and _get(figures, base):
            key = path_ if path_ not in figures["ratios"] else f"{path_} vs {base}"  # P4 has two baselines
            figures["ratios"][key] = round(ratio(_get(figures, path_), _get(figures, base)), 3)
    shown = {k: v for k, v in figures.items() if not k.startswith("_")}  # "_sampler": the running sampler
    path.write_text(json.dumps(shown, indent=2, ensure_ascii=False, default=str) + "\n")
