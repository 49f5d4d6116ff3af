"""Spreadsheet formula injection (OWASP "CSV Injection"): applicant-controlled text in an export must never
become a formula when an official opens the file."""

from __future__ import annotations

import re

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def neutralise(value: object) -> object:
    """The cell as written: text that a spreadsheet would read as a formula gets a leading apostrophe.

    Plain numbers (``-3``, ``+2.5``) are left alone, since no spreadsheet runs them; anything else that starts
    with ``= + - @``, a tab or a carriage return is prefixed, as OWASP advises, and so shown as text."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
