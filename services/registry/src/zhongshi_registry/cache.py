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
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.outbox import Consumed, Step, UnitOfWork, Work


@dataclass(frozen=True)
class Cached:
    body: bytes
    etag: str
    read_at: float = 0.0


class ReadCache:
    """Responses by request (path and query), at most ``budget`` bytes of them (a page of 200 entries is
    ~100 kB), least recently used dropped first, none kept longer than ``keep_s`` seconds."""

    def __init__(self, budget: int = 32 * 1024 * 1024, keep_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.budget, self.keep_s, self.clock, self.generation, self.stored = budget, keep_s, clock, 0, 0
        self._items: OrderedDict[str, Cached] = OrderedDict()
        self._refreshing: dict[str, asyncio.Task[Cached]] = {}
        self.hits = self.misses = 0

    def invalidate(self) -> None:
        self.generation += 1
        self._items.clear()
        self.stored = 0

    async def load(self, key: str, produce: Callable[[], Awaitable[Any]]) -> Cached:
        """The cached response for ``key``, or ``produce``'s (kept unless the registry changed meanwhile); one
        past half its keep is served while it is read again in the background."""
        hit = self._items.get(key)
        if hit is not None and (age := self.clock() - hit.read_at) < self.keep_s:
            self._items.move_to_end(key)
            self.hits += 1
            if age >= self.keep_s / 2 and key not in self._refreshing:
                self._refreshing[key] = task = asyncio.create_task(self._read(key, produce))
                task.add_done_callback(lambda done: self._refreshed(key, done))
            return hit
        self.misses += 1
        return await self._read(key, produce)

    def _refreshed(self, key: str, done: asyncio.Task[Cached]) -> None:
        """A read in the background ended; one that failed leaves the response as it was, to be read again."""
        self._refreshing.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: the next request past half the keep tries again

    async def refreshed(self) -> None:
        """Wait for the reads running in the background (tests)."""
        await asyncio.gather(*self._refreshing.values(), return_exceptions=True)

    async def _read(self, key: str, produce: Callable[[], Awaitable[Any]]) -> Cached:
        generation, read_at = self.generation, self.clock()
        body = json.dumps(await produce(), ensure_ascii=False, separators=(",", ":")).encode()
        made = Cached(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', read_at)
        if generation == self.generation:
            self._drop(key)
            self._items[key] = made
            self.stored += len(body)
            while self.stored > self.budget:
                self.stored -= len(self._items.popitem(last=False)[1].body)
        return made

    def _drop(self, key: str) -> None:
        """Forget ``key``'s response (one too old to serve, say) and the bytes it took."""
        gone = self._items.pop(key, None)
        if gone is not None:
            self.stored -= len(gone.body)


def request_key(request: Request) -> str:
    """Path and query, the query in a fixed order (the same filters in another order are the same page)."""
    return request.url.path + "?" + "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison: ``*``, or any listed tag equal to ours with ``W/`` ignored."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


async def cached_response(request: Request, cache: ReadCache, max_age_s: int,
                          produce: Callable[[], Awaitable[Any]]) -> Response:
    """A 304 when the client holds the current version (no database read on a cache hit), else the JSON."""
    found = await cache.load(request_key(request), produce)
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
