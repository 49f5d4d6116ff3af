"""The public read cache: each public response kept as its bytes and ETag until the registry changes, for at
most a few seconds.

It is dropped whole whenever this replica writes an entry or a candidacy (inside the transaction and again
after it commits) and whenever it consumes an event that changes the registry, its own platform events
included. Replicas share one consumer group, so each event reaches one of them: a change another replica made
reaches this one's cache with an event only now and then, and a response is therefore never served once it is
``keep_s`` old (`REGISTRY_PUBLIC_CACHE_KEEP_S`). A busy response does not wait for that: once it is half as old
it is read again in the background, one read a response at a time, while the requests are still served from
memory (otherwise every response read in one burst expired in one burst, every ``keep_s``, and their requests
queued on the database). A response is stored only if no drop happened while it was read, so a read that raced
a change is never kept.

Some responses are read as a **family**: every entry's detail page in one query. Visitors and crawlers that go
through the entries one by one would otherwise each wait for a database read (a thousand entries revisited
every few seconds outlive the keep), and a read of one document costs the database about what a read of a
hundred does. A family member that is missing is read alone, as before, and its family is read in the
background; a family is read at most once every half keep, whatever asks for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.outbox import Consumed, Step, UnitOfWork, Work

YIELD_EVERY = 50  # a family's members encoded between two turns of the event loop (2-3 ms of work)


@dataclass(frozen=True)
class Cached:
    body: bytes
    etag: str
    read_at: float = 0.0


@dataclass(frozen=True)
class Family:
    """Responses read together: ``members`` yields each one's key (`key_of`) and payload."""

    name: str
    members: Callable[[], AsyncIterator[tuple[str, Any]]]


class ReadCache:
    """Responses by request (path and query), at most ``budget`` bytes of them (a page of 200 entries is
    ~100 kB), least recently used dropped first, none kept longer than ``keep_s`` seconds."""

    def __init__(self, budget: int = 32 * 1024 * 1024, keep_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.budget, self.keep_s, self.clock, self.generation, self.stored = budget, keep_s, clock, 0, 0
        self._items: OrderedDict[str, Cached] = OrderedDict()
        self._refreshing: dict[str, asyncio.Task[Any]] = {}  # by key, or by family name
        self._family_read_at: dict[str, float] = {}
        self.hits = self.misses = 0

    def invalidate(self) -> None:
        self.generation += 1
        self._items.clear()
        self.stored = 0

    async def load(self, key: str, produce: Callable[[], Awaitable[Any]], family: Family | None = None) -> Cached:
        """The cached response for ``key``, or ``produce``'s (kept unless the registry changed meanwhile); one
        past half its keep is served while it (or its ``family``) is read again in the background."""
        hit = self._items.get(key)
        if hit is not None and (age := self.clock() - hit.read_at) < self.keep_s:
            self._items.move_to_end(key)
            self.hits += 1
            if age >= self.keep_s / 2:  # read again in the background, alone or with its family
                if family is None:
                    self._in_background(key, lambda: self._read(key, produce))
                else:
                    self._read_family(family)
            return hit
        self.misses += 1
        if family is not None:
            self._read_family(family)
        return await self._read(key, produce)

    def _read_family(self, family: Family) -> None:
        """Read every member of ``family`` in the background, unless that was begun less than half a keep ago."""
        if self.clock() - self._family_read_at.get(family.name, -self.keep_s) >= self.keep_s / 2:
            self._family_read_at[family.name] = self.clock()
            self._in_background(family.name, lambda: self._read_members(family))

    def _in_background(self, name: str, read: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run ``read`` as a task, one at a time for each ``name``."""
        if name not in self._refreshing:
            self._refreshing[name] = task = asyncio.create_task(read())
            task.add_done_callback(lambda done: self._refreshed(name, done))

    def _refreshed(self, name: str, done: asyncio.Task[Any]) -> None:
        """A read in the background ended; one that failed leaves the responses as they were, to be read again."""
        self._refreshing.pop(name, None)
        if not done.cancelled():
            done.exception()  # retrieved: the next request past half the keep tries again

    async def refreshed(self) -> None:
        """Wait for the reads running in the background (tests)."""
        await asyncio.gather(*self._refreshing.values(), return_exceptions=True)

    async def _read(self, key: str, produce: Callable[[], Awaitable[Any]]) -> Cached:
        generation, read_at = self.generation, self.clock()
        made = cached(await produce(), read_at)
        if generation == self.generation:
            self._keep(key, made)
        return made

    async def _read_members(self, family: Family) -> None:
        generation, read_at, made = self.generation, self.clock(), []
        async for key, payload in family.members():
            made.append((key, cached(payload, read_at)))
            if len(made) % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # not a wait: the requests being served meanwhile get the event loop
        if generation == self.generation:
            for key, response in made:
                self._keep(key, response)

    def _keep(self, key: str, made: Cached) -> None:
        self._drop(key)
        self._items[key] = made
        self.stored += len(made.body)
        while self.stored > self.budget:
            self.stored -= len(self._items.popitem(last=False)[1].body)

    def _drop(self, key: str) -> None:
        """Forget ``key``'s response (one too old to serve, say) and the bytes it took."""
        gone = self._items.pop(key, None)
        if gone is not None:
            self.stored -= len(gone.body)


def cached(payload: Any, read_at: float) -> Cached:
    """The response's bytes and an ETag that changes with them."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Cached(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', read_at)


def key_of(path: str, query: Sequence[tuple[str, str]] = ()) -> str:
    """Path and query, the query in a fixed order (the same filters in another order are the same page)."""
    return path + "?" + "&".join(f"{k}={v}" for k, v in sorted(query))


def request_key(request: Request) -> str:
    return key_of(request.url.path, request.query_params.multi_items())


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison: ``*``, or any listed tag equal to ours with ``W/`` ignored."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


async def cached_response(request: Request, cache: ReadCache, max_age_s: int,
                          produce: Callable[[], Awaitable[Any]], family: Family | None = None) -> Response:
    """A 304 when the client holds the current version (no database read on a cache hit), else the JSON."""
    found = await cache.load(request_key(request), produce, family)
    control = f"public, max-age={max_age_s}" if max_age_s else "no-cache"
    headers = {"ETag": found.etag, "Cache-Control": control}
    if matches(request.headers.get("if-none-match"), found.etag):
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type="application/json", headers=headers)


class Invalidating:
    """A unit of work that drops the read cache after it ran (committed or not): a read that began before
    the commit may have stored the old state in between."""

    def __init__(self, inner: UnitOfWork, cache: ReadCache) -> None:
        self.inner, self.cache = inner, cache

    async def run(self, work: Work, *, consumed: Consumed | None = None, audit: Audit | None = None) -> Any:
        try:
            return await self.inner.run(work, consumed=consumed, audit=audit)  # type: ignore[arg-type]  # either form
        finally:
            self.cache.invalidate()

    async def run_together(self, steps: Sequence[Step]) -> list[bool]:
        try:
            return await self.inner.run_together(steps)
        finally:
            self.cache.invalidate()
