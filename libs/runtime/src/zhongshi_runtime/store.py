"""A small document store: one port per record type, a MongoDB adapter and an in-memory fake that pass the
same contract test (each service runs it with its own records). Services build their repositories from it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from zhongshi_runtime.outbox import Session

M = TypeVar("M", bound=BaseModel)


async def insert_missing(collection: AsyncCollection[Any], items: Iterable[BaseModel], session: Session = None) -> None:
    """Insert each item, keyed by its ``id`` field, unless one with that id is stored already — in one round
    trip. A redelivered event's records are left as they were."""
    docs = [i.model_dump() for i in items]
    writes = [UpdateOne({"_id": d.pop("id")}, {"$setOnInsert": d}, upsert=True) for d in docs]
    if writes:
        await collection.bulk_write(writes, ordered=False, session=session)


class Store(Protocol[M]):
    async def get(self, key: str, session: Session = None) -> M | None: ...
    async def put(self, key: str, item: M, session: Session = None) -> None: ...
    async def add(self, key: str, item: M, session: Session = None) -> bool:
        """Insert unless the key exists; False when it does."""
        ...
    async def find(self, **equals: object) -> list[M]:
        """Items whose fields equal the values (a list field matches when it contains the value), by key."""
        ...
    async def many(self, keys: Iterable[str]) -> dict[str, M]:
        """The items stored under ``keys`` (one query), by key; keys without an item are left out."""
        ...


class MongoStore(Generic[M]):
    def __init__(self, db: AsyncDatabase[Any], name: str, model: type[M]) -> None:
        self.collection, self.model = db[name], model

    def _doc(self, key: str, item: M) -> dict[str, Any]:
        return {"_id": key, **item.model_dump(mode="json")}

    def item(self, doc: dict[str, Any]) -> M:
        return self.model.model_validate({k: v for k, v in doc.items() if k != "_id"})

    async def get(self, key: str, session: Session = None) -> M | None:
        doc = await self.collection.find_one({"_id": key}, session=session)
        return self.item(doc) if doc else None

    async def put(self, key: str, item: M, session: Session = None) -> None:
        await self.collection.replace_one({"_id": key}, self._doc(key, item), upsert=True, session=session)

    async def add(self, key: str, item: M, session: Session = None) -> bool:
        try:
            await self.collection.insert_one(self._doc(key, item), session=session)
        except DuplicateKeyError:
            return False
        return True

    async def find(self, **equals: object) -> list[M]:
        return [self.item(d) async for d in self.collection.find(equals).sort("_id", ASCENDING)]

    async def many(self, keys: Iterable[str]) -> dict[str, M]:
        wanted = list(keys)
        if not wanted:  # a candidate without a panel has no sheets: no query
            return {}
        return {d["_id"]: self.item(d) async for d in self.collection.find({"_id": {"$in": wanted}})}


class MemoryStore(Generic[M]):
    def __init__(self) -> None:
        self.items: dict[str, M] = {}

    async def get(self, key: str, session: Session = None) -> M | None:
        return self.items.get(key)

    async def put(self, key: str, item: M, session: Session = None) -> None:
        self.items[key] = item

    async def add(self, key: str, item: M, session: Session = None) -> bool:
        if key in self.items:
            return False
        self.items[key] = item
        return True

    async def find(self, **equals: object) -> list[M]:
        def matches(item: M) -> bool:
            data = item.model_dump(mode="json")
            return all(v in data[k] if isinstance(data[k], list) else data[k] == v for k, v in equals.items())

        return [self.items[k] for k in sorted(self.items) if matches(self.items[k])]

    async def many(self, keys: Iterable[str]) -> dict[str, M]:
        return {k: self.items[k] for k in keys if k in self.items}
