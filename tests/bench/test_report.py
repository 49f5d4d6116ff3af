"""`make bench`'s figures: ratios against the baselines of the same run, the table and results.json."""

from __future__ import annotations

import json
from pathlib import Path

from bench import report

FIGURES = {
    "p1": {"path": {"applications_per_s": 30.0}, "bare": {"applications_per_s": 40.0},
           "steady_20_per_s": {"p50_ms": 400.0, "p99_ms": 900.0},
           "path_steady_20_per_s": {"p50_ms": 40.0, "p99_ms": 90.0}},
    "p3": {"list": {"max": {"requests_per_s": 300.0}, "at_200": {"p99_ms": 12.0}},
           "bare_list": {"max": {"requests_per_s": 600.0}, "at_200": {"p99_ms": 6.0}}},
    "p5": {"cold_start_s": 12.0, "pss_mb": {"idle": 500.0}},
}


def test_each_figure_is_reported_as_a_ratio_to_its_baseline_of_the_same_run(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    report.write(dict(FIGURES), out)
    written = json.loads(out.read_text())
    assert written["ratios"] == {"p1.path.applications_per_s": 0.75, "p3.list.max.requests_per_s": 0.5,
                                 "p3.list.at_200.p99_ms": 2.0}


def test_the_table_shows_ours_the_baseline_and_the_ratio_and_skips_what_was_not_measured() -> None:
    lines = report.table(FIGURES).splitlines()
    throughput = next(line for line in lines if line.startswith("P1 submit→screened, intake+screening"))
    assert throughput.split()[-4:] == ["30.0", "40.0", "0.75", "apps/s"]
    latency = [line.split() for line in lines if "at 20/s" in line]
    assert [(row[-2], row[-3]) for row in latency] == [("40.0", "path"), ("90.0", "path"), ("400.0", "five"),
                                                        ("900.0", "five")], "each steady figure under its own label"
    assert not any(line.startswith("P4") for line in lines)
    assert any(line.startswith("P5 cold start") for line in lines)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert report.percentile(values, 0.5) == 51.0
    assert report.percentile(values, 0.99) == 99.0
    assert report.percentile([3.0], 0.99) == 3.0


def test_p4_is_reported_against_both_its_baselines(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    report.write({"p4": {"rebuild": {"records_per_s": 700.0}, "raw_consume_and_write": {"records_per_s": 1000.0},
                         "raw_consume": {"records_per_s": 35000.0}}}, out)
    assert json.loads(out.read_text())["ratios"] == {
        "p4.rebuild.records_per_s": 0.7, "p4.rebuild.records_per_s vs p4.raw_consume.records_per_s": 0.02}


def test_notify_planning_is_reported_against_one_event_to_a_transaction(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    alone = {"events_per_s": 80.0, "commands_per_event": 13.0, "cpu_ms_per_event": 20.0}
    together = {"events_per_s": 120.0, "commands_per_event": 7.8, "cpu_ms_per_event": 12.0}
    report.write({"planning": {"alone": alone, "together": together}}, out)
    assert json.loads(out.read_text())["ratios"] == {"planning.together.events_per_s": 1.5,
                                                     "planning.together.commands_per_event": 0.6,
                                                     "planning.together.cpu_ms_per_event": 0.6}
