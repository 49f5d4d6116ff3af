"""Field types for what people send: strict where pydantic's lax mode would quietly turn a mistake into a value.

Lax mode reads ``0`` or ``"0"`` as the date 1970-01-01 (a platform "operating since 1970" passes every
years-of-operation threshold), a datetime's text as its date, and ``1``, ``"yes"`` or ``"off"`` as booleans.
These accept a real date or ``YYYY-MM-DD`` text, and JSON ``true``/``false``; anything else is a 422 naming the
field. The JSON schema stays ``format: date`` and ``type: boolean``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, StrictBool
from pydantic_core import PydanticCustomError

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ROUND_ID_PATTERN = r"^[A-Za-z0-9-]{1,40}$"  # a round's id (批次编号), as intake opens it: R2026-01


def _calendar_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value  # pydantic checks it is a real day
    raise PydanticCustomError("date_format", "须为 YYYY-MM-DD 格式的日期")


CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]
"""A calendar date (Asia/Shanghai): a ``date`` or ``YYYY-MM-DD`` text, nothing that merely converts to one."""

Flag = StrictBool
"""Yes or no: JSON ``true`` or ``false`` only."""
