"""Tables for spreadsheet exports (CSV and XLSX), with formula injection neutralised in one place.

A cell a spreadsheet program would read as a formula (it begins with ``= + - @``, a tab or a carriage
return) is prefixed with ``'`` (OWASP "CSV injection"), so text from users or officials is shown, never run."""

from __future__ import annotations

import csv
import io
import re

Table = tuple[list[str], list[list[str]]]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")  # Excel refuses these in a sheet's name


def neutralise(cell: str) -> str:
    """The cell as text a spreadsheet will not evaluate."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def sheet_title(title: str) -> str:
    """A name Excel accepts: without ``[ ] : * ? / \\``, at most 31 characters."""
    return SHEET_FORBIDDEN.sub("_", title)[:31] or "sheet"


def _rows(table: Table) -> list[list[str]]:
    return [[neutralise(c) for c in row] for row in (table[0], *table[1])]


def csv_bytes(table: Table) -> bytes:
    """UTF-8 with BOM so spreadsheet programs show the Chinese headers."""
    out = io.StringIO()
    csv.writer(out).writerows(_rows(table))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(table: Table, title: str) -> bytes:
    """One sheet named ``title``; every cell is stored as text (openpyxl would store "=..." as a formula)."""
    from openpyxl import Workbook  # here, not at the top: a third of a second of every service's start-up

    book = Workbook()
    sheet = book.active
    if sheet is None:
        raise RuntimeError("openpyxl workbook without a sheet")
    sheet.title = sheet_title(title)
    for row in _rows(table):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
