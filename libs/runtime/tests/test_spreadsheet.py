"""The one neutraliser every export uses against formula injection (OWASP CSV Injection)."""

from __future__ import annotations

import pytest
from zhongshi_runtime.spreadsheet import neutralise


@pytest.mark.parametrize("text", ["=1+1", "+A1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "-", "=", "+cmd|x"])
def test_text_a_spreadsheet_would_run_is_prefixed(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["", "中试平台", "a=b", "'=1", "-3", "+2.5", "12", 7, None])
def test_plain_text_numbers_and_other_values_are_left_alone(value: object) -> None:
    assert neutralise(value) == value
