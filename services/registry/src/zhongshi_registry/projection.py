"""The statistics projection: a counters document changed in the same transaction as the entry (or the
candidacy) it counts, so `/public/stats` and the gauges read one document instead of the whole registry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase
from zhongshi_runtime.outbox import Session
from zhongshi_runtime.store import Store

from zhongshi_registry.statistics import delta

M = TypeVar("M", bound=BaseModel)
DOCUMENT = "registry"  # the one counters document's id in the `statistics` collection


class Tallies(Protocol):
    async def add(self, change: Mapping[str, int], session: Session = None) -> None:
        """Add ``change`` to the counters (atomically, in the caller's transaction)."""
        ...
    async def counts(self) -> dict[str, int]:
        """The counters; an empty dict before the first change."""
        ...
    async def exists(self) -> bool: ...


class MongoTallies:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.collection = db.statistics

    async def add(self, change: Mapping[str, int], session: Session = None) -> None:
        # $inc, not read-modify-write: two transactions counting at once never lose one another's change
        await self.collection.update_one({"_id": DOCUMENT}, {"$inc": {f"counts.{k}": n for k, n in change.items()}},
                                         upsert=True, session=session)

    async def counts(self) -> dict[str, int]:
        doc = await self.collection.find_one({"_id": DOCUMENT})
        return dict(doc["counts"]) if doc else {}

    async def exists(self) -> bool:
        return await self.collection.find_one({"_id": DOCUMENT}, {"_id": 1}) is not None


class MemoryTallies:
    def __init__(self) -> None:
        self.values: Counter[str] = Counter()
        self.written = False

    async def add(self, change: Mapping[str, int], session: Session = None) -> None:
        for key, n in change.items():
            self.values[key] += n
        self.written = True

    async def counts(self) -> dict[str, int]:
        return dict(self.values)

    async def exists(self) -> bool:
        return self.written


class CountedStore(Generic[M]):
    """A store whose every write also changes the counters by what the item counts now minus what it counted
    before; `on_write` runs after each write (the read cache is dropped)."""

    def __init__(self, inner: Store[M], tallies: Tallies, count: Callable[[M], Mapping[str, int]],
                 on_write: Callable[[], None] = lambda: None) -> None:
        self.inner, self.tallies, self.count, self.on_write = inner, tallies, count, on_write

    async def get(self, key: str, session: Session = None) -> M | None:
        return await self.inner.get(key, session)

    async def put(self, key: str, item: M, session: Session = None) -> None:
        before = await self.inner.get(key, session)
        await self.inner.put(key, item, session)
        await self._count(before, item, session)

    async def update(self, key: str, item: M, session: Session = None) -> M:
        before = await self.inner.get(key, session)
        written = await self.inner.update(key, item, session)
        await self._count(before, written, session)
        return written

    async def add(self, key: str, item: M, session: Session = None) -> bool:
        added = await self.inner.add(key, item, session)
        if added:
            await self._count(None, item, session)
        return added

    async def find(self, **equals: object) -> list[M]:
        return await self.inner.find(**equals)

    async def many(self, keys: Iterable[str]) -> dict[str, M]:
        return await self.inner.many(keys)

    async def _count(self, before: M | None, after: M, session: Session) -> None:
        change = delta(self.count(before) if before is not None else {}, self.count(after))
        if change:
            await self.tallies.add(change, session)
        self.on_write()
