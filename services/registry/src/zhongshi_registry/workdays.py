"""Working days on the Chinese calendar (法定节假日 and 调休 adjusted working days).

`chinese_calendar` ships the State Council's holiday schedule year by year, but only once a release follows
the notice (published each November or December for the next year). For a year the library does not cover
yet, the province enters the schedule from the notice (`HolidaySchedule`, ``PUT /api/v1/calendar/{year}``);
for a year covered by neither we refuse (`CalendarNotCovered`) rather than guess from weekends.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Self

import chinese_calendar
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from zhongshi_contracts.inputs import CalendarDate
from zhongshi_runtime.errors import Refusal

WEEKEND = (5, 6)
INSTALLED = f"chinesecalendar {chinese_calendar.__version__}"  # the installed schedules, as officials are told


class CalendarNotCovered(Refusal):
    """The holiday schedule of ``year`` is neither in the installed calendar data nor entered."""

    def __init__(self, year: int) -> None:
        super().__init__(f"节假日数据尚未覆盖 {year} 年（{INSTALLED}），"
                         f"无法计算工作日；请由省经信厅录入 {year} 年节假日安排（PUT /api/v1/calendar/{year}）"
                         "或升级 chinesecalendar 后再开启公示")
        self.year = year


def library_covers(year: int) -> bool:
    """Whether the installed `chinese_calendar` has ``year``'s schedule."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


class HolidayNotice(BaseModel):
    """One year's schedule as the State Council's notice gives it (国务院办公厅关于部分节假日安排的通知): the
    days off (放假) and the weekend days worked instead (调休上班). Every other weekday is a working day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    holidays: list[CalendarDate] = Field(min_length=1, max_length=60, examples=[["2027-01-01"]],
                                         description="Every day off of the notice, weekend days included (放假).")
    working_days: list[CalendarDate] = Field(default_factory=list, max_length=20,
                                             description="Weekend days that are working days (调休上班).")
    source: str = Field(min_length=4, max_length=200, examples=["国务院办公厅关于2027年部分节假日安排的通知"],
                        description="The notice the schedule is taken from.")

    @field_validator("working_days")
    @classmethod
    def _weekends(cls, days: list[date]) -> list[date]:
        weekdays = [str(d) for d in days if d.weekday() not in WEEKEND]
        if weekdays:
            raise ValueError(f"{'、'.join(weekdays)} 不是周末，本就是工作日，无需调休上班")
        return days

    @model_validator(mode="after")
    def _apart(self) -> Self:
        both = sorted(set(self.holidays) & set(self.working_days))
        if both:
            raise ValueError(f"{'、'.join(map(str, both))} 不能既放假又调休上班")
        return self

    def outside(self, year: int) -> list[tuple[str, int]]:
        """Locations of the dates not in ``year``."""
        return [(name, i) for name in ("holidays", "working_days")
                for i, day in enumerate(getattr(self, name)) if day.year != year]


class HolidaySchedule(HolidayNotice):
    """A notice entered for ``year``, by whom and when."""

    year: int
    entered_by: str
    entered_at: datetime

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        return day not in self.holidays and day.weekday() not in WEEKEND


class Calendar:
    """The library's schedules, and the entered ones for the years it does not cover."""

    def __init__(self, entered: Iterable[HolidaySchedule] = ()) -> None:
        self.entered = {s.year: s for s in entered}

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day in mainland China, adjusted working days included."""
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            schedule = self.entered.get(day.year)
            if schedule is None:
                raise CalendarNotCovered(day.year) from None
            return schedule.is_working_day(day)

    def next_working_day(self, after: date) -> date:
        """The first working day strictly after ``after``."""
        day = after + timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def window(self, starts_on: date, working_days: int) -> date:
        """The last day of a window of ``working_days`` working days whose first day is ``starts_on``."""
        if working_days < 1:
            raise ValueError("working_days 至少为 1")
        if not self.is_working_day(starts_on):
            raise ValueError(f"{starts_on} 不是工作日")
        day, counted = starts_on, 1
        while counted < working_days:
            day = self.next_working_day(day)
            counted += 1
        return day
