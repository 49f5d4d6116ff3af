"""Time: instants are UTC; calendar dates are Asia/Shanghai dates (STYLE §9)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def shanghai_date(instant: datetime) -> date:
    """The calendar date in Asia/Shanghai at ``instant``."""
    return instant.astimezone(SHANGHAI).date()
