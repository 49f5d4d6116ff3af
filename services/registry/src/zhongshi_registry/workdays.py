"""Working days on the Chinese calendar (法定节假日 and 调休 adjusted working days), via `chinese_calendar`.

The library ships the State Council's holiday schedule year by year. For a year it does not cover yet we
refuse (`CalendarNotCovered`) rather than guess from weekends: the schedule is only published each
November/December for the next year.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


class CalendarNotCovered(Exception):
    """The holiday schedule of ``year`` is not in the installed calendar data."""

    def __init__(self, year: int) -> None:
        super().__init__(f"节假日数据尚未覆盖 {year} 年（chinesecalendar {chinese_calendar.__version__}），"
                         "无法计算工作日；请升级 chinesecalendar 后再开启公示")
        self.year = year


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day in mainland China, adjusted working days included."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError as exc:
        raise CalendarNotCovered(day.year) from exc


def next_working_day(after: date) -> date:
    """The first working day strictly after ``after``."""
    day = after + timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def window(starts_on: date, working_days: int) -> date:
    """The last day of a window of ``working_days`` working days whose first day is ``starts_on``."""
    if working_days < 1:
        raise ValueError("working_days 至少为 1")
    if not is_working_day(starts_on):
        raise ValueError(f"{starts_on} 不是工作日")
    day, counted = starts_on, 1
    while counted < working_days:
        day = next_working_day(day)
        counted += 1
    return day
