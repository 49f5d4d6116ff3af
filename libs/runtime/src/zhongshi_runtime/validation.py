"""Request checks shared by the services' HTTP APIs."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import date
from typing import Any

from fastapi.exceptions import RequestValidationError
from zhongshi_contracts.dossier import Dossier


def refuse_future_dates(dossier: Dossier, today: date) -> None:
    """A 422 naming every dossier date after ``today`` (an Asia/Shanghai date): a dossier reports the past."""
    future = dossier.future_dates(today)
    if future:
        raise RequestValidationError(
            [{"loc": ("body", "dossier", *loc), "msg": "日期不能晚于今天", "type": "value_error"} for loc in future]
        )


def refuse_scope_mismatch(dossier: Dossier) -> None:
    """A 422 naming the county or the legal-person kind the applicant's credit code contradicts: an applicant
    cannot file under another county's (or city's) officials, nor pass an individual business off as a legal
    person."""
    problems = dossier.scope_problems()
    if problems:
        raise RequestValidationError(
            [{"loc": ("body", "dossier", *loc), "msg": msg, "type": "value_error"} for loc, msg in problems]
        )


def refuse_control_characters(dossier: Dossier) -> None:
    """A 422 naming every dossier text holding a control character (line breaks and tabs aside): they are
    invisible in the officials' screens and exports and corrupt the CSV files."""
    found = list(_control_characters(dossier.model_dump(mode="json"), ()))
    if found:
        raise RequestValidationError(
            [{"loc": ("body", "dossier", *loc), "msg": "不能包含控制字符", "type": "value_error"} for loc in found]
        )


def _control_characters(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in value):
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _control_characters(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _control_characters(item, (*loc, index))
