"""A small document store: one port per record type, a MongoDB adapter and an in-memory fake that pass the
same contract test (each service runs it with its own records). Services build their repositories from it.

It also holds the project's one optimistic-concurrency mechanism: a record that is read, changed and written
back carries a `version`; the write is a compare-and-set on the version it was read at (`replace_versioned`,
`Store.update`) and raises `StaleWrite` when another write came between. The HTTP side maps that to 412 (with
``If-Match``) or 409 (`zhongshi_runtime.preconditions`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, Field
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from zhongshi_runtime.outbox import Session
from zhongshi_runtime.queries import find_by_ids

M = TypeVar("M", bound=BaseModel)


class StaleWrite(Exception):
    """The record changed since it was read: another write came between the read and this one."""

    def __init__(self, key: str) -> None:
        super().__init__(f"{key} changed since it was read")
        self.key = key


class Versioned(BaseModel):
    """A record written by read-modify-write: every write bumps its version (the HTTP ``ETag``)."""

    version: int = Field(0, ge=0, description="Bumped by every write; send it back as If-Match (乐观并发版本号).")


def version_filter(key: str, version: int) -> dict[str, Any]:
    """The stored document at ``version`` (a document written before versions existed counts as 0)."""
    return {"_id": key, "version": version if version else {"$in": [0, None]}}


async def replace_versioned(
    collection: AsyncCollection[Any], key: str, doc: dict[str, Any], version: int, session: Session = None
) -> int:
    """Compare-and-set: replace the document stored at ``version`` by ``doc``; return the new version.

    Version 0 is a new record and may be inserted; a record stored at another version raises `StaleWrite`."""
    new = {**doc, "_id": key, "version": version + 1}
    try:
        result = await collection.replace_one(version_filter(key, version), new, upsert=not version, session=session)
    except DuplicateKeyError:  # version 0, but the record exists at a later version
        raise StaleWrite(key) from None
    if not result.matched_count and result.upserted_id is None:
        raise StaleWrite(key)
    return version + 1


def _version(item: BaseModel) -> int:
    if not isinstance(item, Versioned):
        raise TypeError(f"{type(item).__name__} is not Versioned: it cannot be compared and set")
    return item.version


def check_version(key: str, stored: Versioned | None, expected: int) -> None:
    """The in-memory fakes' compare-and-set: `StaleWrite` unless ``stored`` is at ``expected``."""
    if (stored.version if stored else 0) != expected:
        raise StaleWrite(key)


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
    async def update(self, key: str, item: M, session: Session = None) -> M:
        """Write a `Versioned` item over the version it was read at; return it at its new version.
        `StaleWrite` when another write came between."""
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

    async def update(self, key: str, item: M, session: Session = None) -> M:
        version = await replace_versioned(self.collection, key, self._doc(key, item), _version(item), session)
        return item.model_copy(update={"version": version})

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
        return {d["_id"]: self.item(d) async for d in find_by_ids(self.collection, wanted)}


class MemoryStore(Generic[M]):
    def __init__(self) -> None:
        self.items: dict[str, M] = {}

    async def get(self, key: str, session: Session = None) -> M | None:
        return self.items.get(key)

    async def put(self, key: str, item: M, session: Session = None) -> None:
        self.items[key] = item

    async def update(self, key: str, item: M, session: Session = None) -> M:
        check_version(key, self.items.get(key), _version(item))  # type: ignore[arg-type]
        self.items[key] = item.model_copy(update={"version": _version(item) + 1})
        return self.items[key]

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
