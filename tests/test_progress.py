"""Operators' output: `zhongshi --version`, and the steps and counts long commands print."""

from __future__ import annotations

import io
import re
from importlib.metadata import version

import pytest
from rich.console import Console
from typer.testing import CliRunner

from zhongshi.cli import app
from zhongshi.progress import Counter, QuietSteps, Steps


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"zhongshi {version('zhongshi')}\n"


def test_a_step_prints_one_line_with_its_duration_once_done() -> None:
    out = io.StringIO()
    steps = Steps(Console(file=out, force_terminal=False, width=120))
    with steps.step("broker (Tansu) on port 9092"):
        assert out.getvalue() == ""  # nothing but a spinner (on a terminal) until it is done
    assert re.fullmatch(r"  ✓ broker \(Tansu\) on port 9092 in \d+\.\ds  \(\+\d+\.\ds\)\n", out.getvalue())


def test_a_failed_step_is_not_reported_done() -> None:
    out = io.StringIO()
    steps = Steps(Console(file=out, force_terminal=False))
    try:
        with steps.step("service intake ready"):
            raise TimeoutError
    except TimeoutError:
        pass
    assert "✓" not in out.getvalue()


def test_quiet_steps_print_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with QuietSteps().step("anything"):
        pass
    assert capsys.readouterr().out == ""


def test_a_counter_shows_the_count_and_its_rate() -> None:
    out = io.StringIO()
    with Counter("reading the registry's events", Console(file=out, force_terminal=False, width=120)) as read:
        read.update(1500)
    assert re.search(r"reading the registry's events 1,500 \([\d,]+/s\)", out.getvalue()), out.getvalue()
