"""The per-suite time report: suites named by their folder, summed, longest first, with the machine's share."""

from __future__ import annotations

import os
from pathlib import Path

from tests.timing import SHOWN, Spent, busy_core_seconds, suite_of, table


def test_a_suite_is_its_folder_under_tests_services_or_libs() -> None:
    assert suite_of("tests/faults/test_faults.py::test_x") == "tests/faults"
    assert suite_of("services/notify/tests/test_egress.py::test_y[a/b]") == "services/notify"
    assert suite_of("libs/runtime/tests/test_outbox.py::test_z") == "libs/runtime"
    assert suite_of("tests/test_compat.py::test_w") == "tests"


def test_the_table_sums_each_suite_longest_first_and_shows_how_busy_the_machine_was() -> None:
    spent = [Spent("tests/faults", 10, 5), Spent("tests/api", 4, 8), Spent("tests/faults", 10, 15)]
    assert table(spent, cores=2) == [
        "   20.0 s     20.0 core-s   50%  tests/faults",
        "    4.0 s      8.0 core-s  100%  tests/api",
        "   24.0 s     28.0 core-s   58%  all",
    ]


def test_suites_past_the_longest_are_summed_in_one_line() -> None:
    spent = [Spent(f"libs/s{n}", 1 + n, 1) for n in range(SHOWN + 3)]
    lines = table(spent, cores=1)
    assert len(lines) == SHOWN + 2
    assert lines[-2] == "    6.0 s      3.0 core-s   50%  3 more"  # 1 + 2 + 3 seconds, one core-second each
    assert lines[-1].endswith("all") and f"{sum(1 + n for n in range(SHOWN + 3)):.1f} s" in lines[-1]


def test_the_machines_busy_time_leaves_out_idle_and_io_wait(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 20 30 5000 700 4 6 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
    ticks = os.sysconf("SC_CLK_TCK")
    assert busy_core_seconds(stat) == (100 + 20 + 30 + 4 + 6 + 8) / ticks
    assert busy_core_seconds(tmp_path / "absent") is None
