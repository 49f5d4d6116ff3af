"""The one neutraliser every export uses against formula injection (OWASP CSV Injection)."""

from __future__ import annotations

import pytest
from zhongshi_runtime.tables import neutralise


@pytest.mark.parametrize("text", ["=1+1", "+A1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "-", "=", "+cmd|x", "-3", "+86"])
def test_text_a_spreadsheet_would_run_is_prefixed(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["", "中试平台", "a=b", "'=1", "12", "3-1"])
def test_plain_text_and_unsigned_numbers_are_left_alone(value: str) -> None:
    assert neutralise(value) == value
