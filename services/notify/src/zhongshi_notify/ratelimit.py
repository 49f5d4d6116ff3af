"""A channel's send quota, shared by every notify replica: the SMTP relay and the SMS gateway have quotas, and a
burst of notices after a round's publicity closes must queue in the outbox instead of being refused (or
blacklisted) by them. The quota is the relay's, not a replica's: with three replicas each pacing itself, three
times the quota would go out.

So the replicas book their sends in one schedule per channel, a document in notify's database: a dispatcher that
has claimed deliveries books a send time for each (`book`, the generic cell rate algorithm's virtual schedule:
``burst`` sends at once, then one every ``1 / per_s`` seconds), written back with the schedule's version so two
replicas never book the same time. One read and one write per claim, not per send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from zhongshi_runtime.store import StaleWrite, Store, Versioned

BOOKING_TRIES = 5  # replicas booking the same schedule at once: each try after a conflict reads it afresh


@dataclass(frozen=True)
class RateLimit:
    """At most ``per_s`` sends a second on average, and never more than ``burst`` at once (default: ``per_s``)."""

    per_s: float
    burst: float | None = None

    def __post_init__(self) -> None:
        if self.per_s <= 0:
            raise ValueError("a rate limit needs a positive rate")

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=1 / self.per_s)

    @property
    def tolerance(self) -> timedelta:
        """How far ahead of the schedule a send may go: the burst less the one send the schedule allows."""
        return (max(1.0, self.burst if self.burst is not None else self.per_s) - 1) * self.interval


class SendSchedule(Versioned):
    """A channel's schedule: the theoretical arrival time of its next send (the cell rate algorithm's TAT)."""

    next_at: datetime


def book(limit: RateLimit, next_at: datetime | None, now: datetime, count: int,
         until: datetime) -> tuple[list[datetime], datetime]:
    """Send times for up to ``count`` sends asked for at ``now``, none later than ``until``, and the schedule's
    next arrival time after them. A schedule that fell behind ``now`` grants a burst again."""
    times: list[datetime] = []
    scheduled = max(next_at or now, now - limit.tolerance)
    while len(times) < count:
        at = max(now, scheduled - limit.tolerance)
        if at > until:
            break
        times.append(at)
        scheduled = max(scheduled, at) + limit.interval
    return times, scheduled


class SharedPace:
    """Books sends in each limited channel's schedule, kept in ``schedules`` (keyed by channel)."""

    def __init__(self, schedules: Store[SendSchedule], limits: dict[str, RateLimit]) -> None:
        self.schedules, self.limits = schedules, limits

    def limit(self, channel: str) -> RateLimit | None:
        return self.limits.get(channel)

    async def book(self, channel: str, count: int, now: datetime, until: datetime) -> list[datetime]:
        """Send times for up to ``count`` sends of ``channel``, in order, none later than ``until``; fewer when the
        schedule is full that far, none when other replicas kept winning the write."""
        limit = self.limits[channel]
        for _ in range(BOOKING_TRIES):
            current = await self.schedules.get(channel)
            times, next_at = book(limit, current.next_at if current else None, now, count, until)
            if not times:
                return []
            try:
                await self.schedules.update(channel, SendSchedule(next_at=next_at,
                                                                  version=current.version if current else 0))
            except StaleWrite:
                continue
            return times
        return []
