"""Notify's replay: its one handler follows every case, contact, schedule, panel, publicity window and
outcome from the topics it consumes, and writes each event's inbox messages. What requests and the
dispatcher own — preferences, the directory, webhook subscriptions, deliveries and their attempts, the
channels' send schedules, reminders fired by the clock, whether a message was read — is left out of the
comparison."""

from __future__ import annotations

import re
from typing import Any

from zhongshi_runtime.clock import utc_now
from zhongshi_runtime.messaging import Consumers
from zhongshi_runtime.outbox import UnitOfWork
from zhongshi_runtime.rebuild import Database, Scope

from zhongshi_notify import handlers
from zhongshi_notify.deliveries import MongoDeliveryStore
from zhongshi_notify.domain import UNKNOWN_DEADLINE, Audience, reader
from zhongshi_notify.metrics import NotifyMetrics
from zhongshi_notify.planning import Channel
from zhongshi_notify.repository import MongoNotifyRepository
from zhongshi_notify.templates import Templates

BY_REQUEST = "kept by requests, not by a consumed event"


def who_scored(doc: dict[str, Any]) -> dict[str, Any]:
    """Who scored or declined is a set: two experts' scores committed close together may be logged in either
    order, and the replay reads them in event-time order."""
    return {**doc, "scored": sorted(doc.get("scored", [])), "declined": sorted(doc.get("declined", []))}


# An official's queue notice ("entered" or "left your queue") goes to the queue notify thinks the application is
# in when the step reaches it (`changed_stage` in `notices`). Events of one application reach notify on different
# topics: when it was behind, a later step may have come first — the forwarding skipped, the withdrawal told to
# the city rather than the province. The replay reads them in the order they happened, so either side may hold
# one alone.
QUEUE_STEPS = tuple(f".application.{step}." for step in ("screened", "recommended", "forwarded", "withdrawn"))


def queue_notice(message: dict[str, Any]) -> bool:
    official = str(message["recipient"]).startswith(reader(Audience.OFFICIAL, ""))  # an inbox is "official:<code>"
    return official and any(step in message["event_type"] for step in QUEUE_STEPS)


# A round's deadlines come on a topic of their own: a notice planned before they reached notify names the round's
# deadline (批次规定期限) where the replay, reading in the order things happened, names the day.
A_DEADLINE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日(?=前)")  # 请于{day}前


def deadline_not_yet_known(live: dict[str, Any], rebuilt: dict[str, Any]) -> bool:
    """The live message is the rebuilt one with its days unknown, and nothing else differs."""
    return live != rebuilt and live == {**rebuilt, "body": A_DEADLINE.sub(UNKNOWN_DEADLINE, str(rebuilt.get("body")))}


def contact_erased(live: dict[str, Any], rebuilt: dict[str, Any]) -> bool:
    """The live contact was blanked past its retention period (`app.ERASED`) and the rebuild read the same
    submission again."""
    return live.get("erased") is True and live.get("revision") == rebuilt.get("revision")


SCOPE = Scope(
    service="notify",
    compared={
        "cases": frozenset(), "schedules": frozenset(), "expert_panels": frozenset(), "publicity": frozenset(),
        "platforms": frozenset(), "contacts": frozenset({"stored_at"}), "inbox": frozenset({"created_at", "read"}),
    },
    left_out={
        "preferences": BY_REQUEST, "directory": BY_REQUEST, "subscriptions": BY_REQUEST,
        "deliveries": "the dispatcher's progress on each channel (sent, failed, held), and their attempts",
        "send_schedules": "the send times the dispatchers booked against each channel's quota",
        "inbox (reminders)": "fired by the clock (提醒 / 逾期督办), not by an event",
        "inbox (created_at, read)": "when the replay wrote it, and whether the reader opened it (a request)",
        "inbox (a queue notice on one side)": "an official's queue notice follows the order the application's "
                                              "events reached the live service in, which the log does not keep",
        "inbox (a deadline's day)": "a notice the live service wrote before the round's deadlines reached it "
                                    "says 批次规定期限 where the rebuild names the day",
    },
    only={"inbox": {"event_type": {"$regex": r"^cn\."}}},  # a message an event caused (timers: notify.*)
    normalise={"expert_panels": who_scored},
    one_sided={"inbox": queue_notice},
    live_may_differ={"inbox": deadline_not_yet_known, "contacts": contact_erased},
)


async def wire(consumers: Consumers, uow: UnitOfWork, db: Database) -> None:
    """Notify's live handler registration, planning only the inbox (deliveries are not compared)."""
    repo = MongoNotifyRepository(db)
    planner = handlers.Planner(repo, MongoDeliveryStore(db), Templates.load(), enabled=[Channel.INBOX],
                               clock=utc_now)
    handlers.register(consumers, uow, planner, NotifyMetrics(consumers.metrics.registry))
