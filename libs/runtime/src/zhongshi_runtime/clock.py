"""Time: instants are UTC; calendar dates are Asia/Shanghai dates (STYLE §9)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def shanghai_date(instant: datetime) -> date:
    """The calendar date in Asia/Shanghai at ``instant``."""
    return instant.astimezone(SHANGHAI).date()


class DevelopmentClock:
    """The real clock moved forward by whole days, like a payment provider's test clock: in development a
    sample round can walk through windows counted in days (publicity). Production never mounts the control."""

    def __init__(self, base: Clock = utc_now) -> None:
        self.base, self.offset_days = base, 0

    def __call__(self) -> datetime:
        return self.base() + timedelta(days=self.offset_days)

    def travel_to(self, day: date) -> int:
        """Make ``day`` the current Asia/Shanghai date; never earlier than the real one. The new offset."""
        offset = (day - shanghai_date(self.base())).days
        if offset < 0:
            raise ValueError(f"today：不能早于实际日期 {shanghai_date(self.base())}")
        self.offset_days = offset
        return offset
