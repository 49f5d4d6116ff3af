"""Reading and marking documents by a list of ids, a bounded number of ids to a query.

The embedded database (SecantusDB) answers an ``{"_id": {"$in": ids}}`` query in time that grows with the
square of the ids it is given: reading 6,385 score sheets by id took 39 s in one query and 1.1 s a hundred at a
time, while reading the whole collection took 0.15 s. MongoDB answers either way from its index. So a list of
ids that may be long (a round's sheets, an outbox batch) goes a hundred at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

IDS_PER_QUERY = 100


def id_batches(ids: Sequence[Any]) -> Iterator[list[Any]]:
    """``ids`` in consecutive batches of at most `IDS_PER_QUERY`."""
    for start in range(0, len(ids), IDS_PER_QUERY):
        yield list(ids[start : start + IDS_PER_QUERY])


async def find_by_ids(collection: AsyncCollection[Any], ids: Sequence[Any], projection: dict[str, Any] | None = None,
                      session: Any = None, where: dict[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
    """The stored documents among ``ids`` (and matching ``where``), a batch of ids to a query."""
    for batch in id_batches(ids):
        async for doc in collection.find({"_id": {"$in": batch}, **(where or {})}, projection, session=session):
            yield doc
