"""How long each store keeps personal data, enforced: a service declares a `Rule` per store and `ServiceKit`
purges what is past its period every RETENTION_INTERVAL_S (and at start-up). A purge is an ordinary delete (or
an update blanking the personal fields), so it works the same on MongoDB and the embedded SecantusDB and is
logged with its count. The table of periods and the reasons is docs/retention.md."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from dataclasses import field as default
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from pymongo.asynchronous.database import AsyncDatabase

from zhongshi_runtime.clock import Clock, utc_now

_JSON_TIME = TypeAdapter(datetime)


@dataclass(frozen=True)
class Rule:
    """Documents of ``collection`` whose ``field`` is older than ``days`` (and match ``where``) are deleted, or
    updated with ``blank`` (the personal fields cleared, the record kept)."""

    collection: str
    field: str  # the time the period runs from
    days: int
    where: dict[str, Any] = default(default_factory=dict)
    blank: dict[str, Any] = default(default_factory=dict)
    stored_as_text: bool = False  # the time is an ISO string (records stored with model_dump(mode="json"))

    def query(self, now: datetime) -> dict[str, Any]:
        cutoff: Any = now - timedelta(days=self.days)
        if self.stored_as_text:
            cutoff = _JSON_TIME.dump_python(cutoff, mode="json")
        return {**self.where, self.field: {"$lt": cutoff}}


class Retention:
    def __init__(self, db: AsyncDatabase[Any], logger: logging.Logger, clock: Clock = utc_now) -> None:
        self.db, self.logger, self.clock = db, logger, clock
        self.rules: list[Rule] = []

    def keep(self, *rules: Rule) -> None:
        self.rules.extend(rules)

    async def purge(self) -> dict[str, int]:
        """Apply every rule once; return how many documents each removed or blanked."""
        now, done = self.clock(), {}
        for rule in self.rules:
            collection = self.db[rule.collection]
            if rule.blank:
                result = await collection.update_many(rule.query(now), {"$set": rule.blank})
                count = result.modified_count
            else:
                count = (await collection.delete_many(rule.query(now))).deleted_count
            done[f"{rule.collection}.{rule.field}"] = count
            if count:
                self.logger.info("retention: %d %s past %d days %s", count, rule.collection, rule.days,
                                 "blanked" if rule.blank else "deleted")
        return done
