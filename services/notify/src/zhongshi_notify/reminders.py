"""Reminders and escalation, pure: which timers are due on a day, each with an id that makes it fire once.

A queue is the applications of one round waiting in one stage with one holder (a county, a city or the
province). N days before the stage's last day its holder is reminded (one reminder per configured N,
only the latest window that has opened); from the day after the last day, while items remain, the level
above is told once (county → city → province; the province, having none above, is told itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from zhongshi_notify.domain import (
    QUEUE_STAGES,
    STAGE_LABELS,
    Audience,
    Case,
    Notice,
    Stage,
    above,
    cn_date,
    holder,
    scope_name,
)


class TimerKind(StrEnum):
    REMINDER = "reminder"
    ESCALATION = "escalation"


class Due(Protocol):
    """A timer that is due: fired once, by its id, as one notice (this module's and `deadlines.py`'s)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> TimerKind: ...
    @property
    def deadline_name(self) -> str:
        """Which deadline: a chain stage, ``scoring``, ``publicity``, ``annual_report`` or ``rectification`` (a
        metrics label)."""
        ...
    @property
    def subject(self) -> str:
        """What the timer is about (a round or a platform): the subject of its unit of work."""
        ...
    @property
    def application_id(self) -> str:
        """The application whose applicant contact is used ("" when the recipient is no applicant)."""
        ...
    def notice(self) -> Notice: ...


def timing(deadline: date, today: date) -> dict[str, str]:
    """The facts every deadline message states: the day, the time left, how late."""
    days = (deadline - today).days
    return {"deadline": cn_date(deadline), "remaining": "今天截止" if days == 0 else f"还剩{days}天",
            "overdue_days": str(max(0, -days))}


@dataclass(frozen=True)
class Timer:
    """A reminder or escalation for one queue and one deadline."""

    kind: TimerKind
    round_id: str
    stage: Stage
    holder: str
    recipient: str
    deadline: date
    count: int
    today: date
    window: int | None = None  # the reminder's "N days before"

    @property
    def id(self) -> str:
        """Stable across restarts and replicas: the same queue, deadline and window give the same id."""
        parts = [self.kind.value, self.round_id, self.stage.value, self.holder, self.deadline.isoformat()]
        return ":".join(parts + ([f"{self.window}d"] if self.window is not None else []))

    @property
    def deadline_name(self) -> str:
        return self.stage.value

    @property
    def subject(self) -> str:
        return self.round_id

    @property
    def application_id(self) -> str:
        return ""

    def notice(self) -> Notice:
        facts = {"round_id": self.round_id, "stage": STAGE_LABELS[self.stage], "holder_name": scope_name(self.holder),
                 "count": str(self.count), **timing(self.deadline, self.today)}
        return Notice(template=f"{self.kind.value}.official", recipient=self.recipient, audience=Audience.OFFICIAL,
                      facts=facts)


def window(today: date, deadline: date, days_before: Sequence[int]) -> int | None:
    """The reminder window open on ``today``: the smallest N with deadline − N ≤ today ≤ deadline."""
    opened = [n for n in days_before if (deadline - today).days <= n]
    return min(opened) if opened and today <= deadline else None


def due(
    today: date, deadlines: Mapping[str, Mapping[str, date]], cases: Iterable[Case], days_before: Sequence[int]
) -> list[Timer]:
    """Every reminder and escalation due on ``today`` (the caller fires each id at most once)."""
    queues: dict[tuple[str, Stage, str], list[Case]] = {}
    for case in cases:
        who = holder(case.stage, case.region_code, case.city_code)
        if case.stage in QUEUE_STAGES and who:
            queues.setdefault((case.round_id, case.stage, who), []).append(case)
    timers = []
    for (round_id, stage, who), items in sorted(queues.items()):
        deadline = deadlines.get(round_id, {}).get(stage.value)
        if deadline is None:
            continue
        first = items[0]
        n = window(today, deadline, days_before)
        if today > deadline:
            kind, recipient = TimerKind.ESCALATION, above(stage, first.region_code, first.city_code)
        elif n is not None:
            kind, recipient = TimerKind.REMINDER, who
        else:
            continue
        timers.append(Timer(kind, round_id, stage, who, recipient, deadline, len(items), today, n))
    return timers
