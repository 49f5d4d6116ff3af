"""Request checks shared by the services' HTTP APIs."""

from __future__ import annotations

from datetime import date

from fastapi.exceptions import RequestValidationError
from zhongshi_contracts.dossier import Dossier


def refuse_future_dates(dossier: Dossier, today: date) -> None:
    """A 422 naming every dossier date after ``today`` (an Asia/Shanghai date): a dossier reports the past."""
    future = dossier.future_dates(today)
    if future:
        raise RequestValidationError(
            [{"loc": ("body", "dossier", *loc), "msg": "日期不能晚于今天", "type": "value_error"} for loc in future]
        )
