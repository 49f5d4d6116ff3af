"""The bench's figures as PNG charts (matplotlib, no display): latency histograms, each service's throughput
over time, and each consumer group's lag over the P2 round. ``python -m bench.charts [results.json] [dir]``."""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench import report

CHARTS = Path(__file__).with_name("charts")


def draw(figures: dict[str, Any], folder: Path = CHARTS) -> list[Path]:
    """Every chart the figures allow; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    drawn = [latency(figures, folder / "p1-latency.png"), memory(figures, folder / "soak-memory.png"),
             cpu(figures, folder / "profile.png")]
    series = figures.get("timeseries") or {}
    if series.get("samples"):
        drawn += [throughput(series, folder / "throughput.png"), lag(series, folder / "p2-consumer-lag.png")]
    return [p for p in drawn if p is not None]


def _title(figures: dict[str, Any], what: str) -> str:
    load = (figures.get("conditions_at_start") or {}).get("load_average_1m")
    return f"{what}\n(load average at start {load}; {'smoke sizes' if figures['sizes']['smoke'] else 'full sizes'})"


def latency(figures: dict[str, Any], path: Path) -> Path | None:
    runs = {label: (figures.get("p1") or {}).get(key, {}).get("latencies_ms")
            for label, key in (("all five services", "steady_20_per_s"),
                               ("intake + screening", "path_steady_20_per_s"))}
    runs = {k: v for k, v in runs.items() if v}
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(8, 4.5))
    top = max(max(values) for values in runs.values())
    bins = [top * i / 40 for i in range(41)]  # the same bins for both: the shapes compare
    for label, values in runs.items():
        p99 = report.percentile(values, 0.99)
        ax.hist(values, bins=bins, alpha=0.6, label=f"{label} (p99 {p99:.0f} ms)")
    ax.set(xlabel="submit → screened (ms)", ylabel="applications",
           title=_title(figures, "P1 latency at a steady 20 submissions/s"))
    ax.legend()
    return _save(fig, path)


def _rates(samples: list[dict[str, Any]], kind: str) -> dict[str, tuple[list[float], list[float]]]:
    """Per service: times and per-second rates of a cumulative counter. Where the service was not sampled before
    (stopped) or its counter dropped (restarted) the rate is NaN, which the chart draws as a gap, not as a line
    across the time it was away."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for before, after in itertools.pairwise(samples):
        dt = after["t"] - before["t"]
        for name, value in after[kind].items():
            times, rates = out.setdefault(name, ([], []))
            counted = name in before[kind] and dt > 0 and value >= before[kind][name]
            times.append(after["t"])
            rates.append((value - before[kind][name]) / dt if counted else math.nan)
    return out


def _phases(ax: Any, marks: list[list[Any]]) -> None:
    for at, phase in marks:
        ax.axvline(at, color="grey", linewidth=0.6, linestyle=":")
        ax.text(at, 1.0, f" {phase}", transform=ax.get_xaxis_transform(), fontsize=7, va="top")


def throughput(series: dict[str, Any], path: Path) -> Path:
    fig, (events, requests) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    for axis, kind, label in ((events, "handled", "events handled / s"), (requests, "http", "HTTP requests / s")):
        for name, (times, rates) in sorted(_rates(series["samples"], kind).items()):
            axis.plot(times, rates, label=name, linewidth=0.9)
        axis.set_ylabel(label)
        _phases(axis, series["marks"])
        axis.legend(fontsize=7, ncol=5)
    requests.set_xlabel("seconds since the stack started")
    events.set_title("Throughput over time, per service")
    return _save(fig, path)


def lag(series: dict[str, Any], path: Path) -> Path | None:
    marks = series["marks"]
    starts = [at for at, phase in marks if phase == "p2"]
    if not starts:
        return None
    end = next((at for at, _ in marks if at > starts[0]), float("inf"))
    window = [s for s in series["samples"] if starts[0] <= s["t"] <= end]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    groups = sorted({n for s in window for n in s["lag"]})
    for name in groups:
        points = [(s["t"] - starts[0], s["lag"][name]) for s in window if name in s["lag"]]
        ax.plot([t for t, _ in points], [n for _, n in points], label=f"zhongshi-{name}", linewidth=0.9)
    ax.set(xlabel="seconds into the P2 round", ylabel="records not yet committed",
           title="Each consumer group's lag over the P2 round")
    if groups:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no lag sampled (the broker did not answer)", ha="center", transform=ax.transAxes)
    return _save(fig, path)


def memory(figures: dict[str, Any], path: Path) -> Path | None:
    """Each process's PSS over the soak: a service's line that keeps rising after the warm-up leaks."""
    found = figures.get("soak")
    if not found or not found.get("samples"):
        return None
    fig, (ours, theirs) = plt.subplots(1, 2, figsize=(11, 4.5))
    names = sorted({n for s in found["samples"] for n in s["pss_mb"]})
    for name in names:
        axis = theirs if name == "broker" or name.startswith("database") else ours
        points = [(s["t"] / 60, s["pss_mb"][name]) for s in found["samples"] if name in s["pss_mb"]]
        axis.plot([t for t, _ in points], [m for _, m in points], label=name, linewidth=1)
    for axis, what in ((ours, "the five services"), (theirs, "the embedded broker and databases")):
        axis.axvline(found["warm_up_s"] / 60, color="grey", linewidth=0.6, linestyle=":")
        axis.set(xlabel="minutes into the soak", ylabel="PSS (MB)", title=what)
        axis.set_ylim(bottom=0)
        axis.legend(fontsize=7)
    growth = found["five_services"]["growth_pct"]
    fig.suptitle(_title(figures, f"Soak at {found['rate_per_s']:g} applications/s: five services' PSS "
                                 f"{growth:+.1f} % after the warm-up"), fontsize=10)
    return _save(fig, path)


def cpu(figures: dict[str, Any], path: Path) -> Path | None:
    """Per service, the share of its CPU samples spent in each library (py-spy during a sustained P1 run)."""
    found = {k: v for k, v in (figures.get("profile") or {}).items() if isinstance(v, dict) and v.get("shares")}
    if not found:
        return None
    libraries = sorted({lib for v in found.values() for lib in v["shares"]},
                       key=lambda lib: -sum(v["shares"].get(lib, 0) for v in found.values()))
    names = sorted(found, key=lambda n: -found[n].get("core_share", 0))
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(names) + 2))
    left = [0.0] * len(names)
    colours = plt.get_cmap("tab20")
    for k, library in enumerate(libraries):
        widths = [100 * found[n]["shares"].get(library, 0) for n in names]
        ax.barh(names, widths, left=left, label=library, color=colours(k % 20))
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(range(len(names)), [_cpu_label(n, found[n]) for n in names])
    ax.invert_yaxis()
    ax.set(xlabel="share of the service's CPU samples (%)", xlim=(0, 100),
           title=_title(figures, "Where each service spends its CPU during a sustained P1 run (py-spy)"))
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    return _save(fig, path)


def _cpu_label(name: str, profiled: dict[str, Any]) -> str:
    if "core_share" in profiled:
        return f"{name} ({100 * profiled['core_share']:.0f} % of a core)"
    return f"{name} ({profiled['samples']} samples)"  # a run from before the kernel's CPU time was read


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else report.RESULTS
    for written in draw(json.loads(source.read_text()), Path(sys.argv[2]) if len(sys.argv) > 2 else CHARTS):
        print(written)
