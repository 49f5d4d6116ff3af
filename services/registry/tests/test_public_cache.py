"""The public list, detail and statistics: ETag and Cache-Control on every response, a 304 without a
database read for the version the client holds, and a cache dropped by this replica's changes and by the
registry events it consumes (another replica's changes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from faststream.kafka import TestKafkaBroker
from zhongshi_contracts.registry import PlatformWarned
from zhongshi_registry import handlers
from zhongshi_registry.cache import Family, ReadCache, matches
from zhongshi_registry.entries import Status
from zhongshi_registry.settings import RegistrySettings
from zhongshi_runtime.testing import HandlerHarness, envelope

from .registry_fixtures import Client
from .test_api import AFTER, client, close  # noqa: F401 (client is the fixture)


async def publish(client: Client) -> None:  # noqa: F811
    """Open and close the round's publicity: P-A0 and P-A1 accredited, P-A2 a cultivation object."""
    await client.province("POST", "/api/v1/rounds/R1/publicity", json={})
    await close(client)

PATHS = ["/api/v1/public/platforms?status=accredited&limit=5", "/api/v1/public/platforms/P-A0",
         "/api/v1/public/stats"]


class Reads:
    """Counts the store reads behind the public routes."""

    def __init__(self, api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        repo = api.repo
        for owner, name in ((repo.listing, "page"), (repo.entries, "get"), (repo.tallies, "counts")):
            monkeypatch.setattr(owner, name, self.counted(getattr(owner, name)))

    def counted(self, read: Any) -> Any:
        async def wrapper(*args: Any, **kw: Any) -> Any:
            self.count += 1
            return await read(*args, **kw)
        return wrapper


@pytest.mark.parametrize("path", PATHS)
async def test_a_client_holding_the_current_version_gets_304_without_a_database_read(
        client: Client, monkeypatch: pytest.MonkeyPatch, path: str) -> None:  # noqa: F811
    await publish(client)
    first = await client.http.get(path)
    assert first.status_code == 200 and first.headers["cache-control"] == "public, max-age=5"
    etag = first.headers["etag"]
    reads = Reads(client, monkeypatch)
    again = await client.http.get(path, headers={"If-None-Match": f'W/{etag}, "other"'})
    assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""
    assert reads.count == 0
    assert (await client.http.get(path)).json() == first.json() and reads.count == 0  # served from memory


async def test_the_same_filters_in_another_order_are_the_same_cached_page(client: Client) -> None:  # noqa: F811
    await publish(client)
    a = await client.http.get("/api/v1/public/platforms?status=accredited&limit=5")
    b = await client.http.get("/api/v1/public/platforms?limit=5&status=accredited")
    assert a.headers["etag"] == b.headers["etag"] and client.repo.cache.hits == 1


async def test_a_change_here_is_served_at_once(client: Client) -> None:  # noqa: F811
    await publish(client)
    before = await client.http.get("/api/v1/public/platforms/P-A0")
    r = await client.province("POST", "/api/v1/platforms/P-A0/evaluations/2026", json={
        "standing": "warning", "reason": "人才与服务成效不达标", "rectify_by": "2027-06-30"})
    assert r.status_code == 200, r.text
    after = await client.http.get("/api/v1/public/platforms/P-A0", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.json()["status"] == "warning"
    stats = (await client.http.get("/api/v1/public/stats")).json()
    assert stats["accredited"]["provincial"] == 2  # a platform under warning is still in force


async def test_another_replicas_change_is_served_once_its_event_is_consumed(client: Client) -> None:  # noqa: F811
    await publish(client)
    cached = await client.http.get("/api/v1/public/platforms/P-A0")
    await client.repo.cache.refreshed()  # the other entries' pages, read in the background
    entry = await client.repo.entries.get("P-A0")
    assert entry is not None
    warned = entry.model_copy(update={"status": Status.WARNING})
    await client.repo.collections["entries"].put("P-A0", warned)  # written by another replica, in the database
    stale = await client.http.get("/api/v1/public/platforms/P-A0")
    assert stale.json()["status"] == "accredited" and stale.headers["etag"] == cached.headers["etag"]
    harness = HandlerHarness(RegistrySettings(handler_retry_backoff_s=0))
    handlers.register(harness.consumers, harness.uow, client.repo)
    event = PlatformWarned(application_id="A0", round_id="R1", platform_id="P-A0", year=2026, reason="不达标",
                           rectify_by=date(2027, 6, 30), warned_at=AFTER)
    async with TestKafkaBroker(harness.ready()) as broker:
        await broker.publish(**envelope(event))
    fresh = await client.http.get("/api/v1/public/platforms/P-A0", headers={"If-None-Match": cached.headers["etag"]})
    assert fresh.status_code == 200 and fresh.json()["status"] == "warning"


async def test_a_read_that_raced_a_change_is_not_kept() -> None:
    cache = ReadCache()

    async def produce() -> dict[str, str]:
        cache.invalidate()  # the registry changed while this response was being read
        return {"status": "old"}

    await cache.load("k", produce)
    assert (await cache.load("k", _new)).body == b'{"status":"new"}'


async def _new() -> dict[str, str]:
    return {"status": "new"}


async def test_a_response_is_read_again_once_it_is_keep_s_old() -> None:
    """Another replica's change (whose event this replica may never consume) is served within ``keep_s``."""
    now = [100.0]
    cache, status = ReadCache(keep_s=5, clock=lambda: now[0]), ["old"]

    async def produce() -> dict[str, str]:
        return {"status": status[0]}

    first = await cache.load("k", produce)
    status[0], now[0] = "new", 104.9  # changed in the database by another replica
    assert await cache.load("k", produce) == first
    now[0] = 105.0
    fresh = await cache.load("k", produce)  # never served once keep_s old, whatever is being read meanwhile
    assert fresh.body == b'{"status":"new"}' and fresh.etag != first.etag and fresh.read_at == 105.0
    assert cache.stored == len(fresh.body) and list(cache._items) == ["k"]
    await cache.refreshed()


async def test_a_busy_response_is_read_again_in_the_background_before_it_expires() -> None:
    """Past half its keep a response is still served, and one read, however many requests come, refreshes it:
    a busy page never makes its requests wait for the database."""
    now, status, reads = [100.0], ["old"], [0]
    cache = ReadCache(keep_s=5, clock=lambda: now[0])

    async def produce() -> dict[str, str]:
        reads[0] += 1
        await asyncio.sleep(0)  # the database read: more requests come meanwhile
        return {"status": status[0]}

    first = await cache.load("k", produce)
    status[0], now[0] = "new", 102.5
    assert await asyncio.gather(*(cache.load("k", produce) for _ in range(10))) == [first] * 10
    await cache.refreshed()
    now[0] = 104.9
    fresh = await cache.load("k", produce)
    assert fresh.body == b'{"status":"new"}' and fresh.read_at == 102.5 and reads[0] == 2


async def test_a_refresh_that_fails_or_raced_a_change_is_not_kept() -> None:
    now = [100.0]
    cache = ReadCache(keep_s=5, clock=lambda: now[0])
    first = await cache.load("k", _new)

    async def failing() -> dict[str, str]:
        raise ConnectionError("the database is restarting")

    async def raced() -> dict[str, str]:
        cache.invalidate()  # the registry changed while this response was being read
        return {"status": "old"}

    now[0] = 103.0
    assert await cache.load("k", failing) == first  # the failure stays in the background
    await cache.refreshed()
    assert await cache.load("k", raced) == first  # the next request tries again
    await cache.refreshed()
    assert list(cache._items) == [] and (await cache.load("k", _new)).read_at == 103.0


def test_if_none_match_compares_weakly() -> None:
    assert matches('W/"a", "b"', '"a"') and matches("*", '"a"')
    assert not matches('"b"', '"a"') and not matches(None, '"a"')


async def test_the_cache_keeps_within_its_byte_budget_dropping_the_least_recently_used() -> None:
    cache = ReadCache(budget=100)

    async def page(n: int) -> dict[str, str]:
        return {"page": str(n) * 30}

    for n in range(5):
        await cache.load(f"k{n}", lambda n=n: page(n))  # type: ignore[misc]
    assert cache.stored <= 100 and list(cache._items) == ["k3", "k4"]


async def test_reading_one_entry_page_reads_every_entry_page_in_the_background(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """A visitor (or a crawler) going through the entries one by one waits for the database once, not for each."""
    await publish(client)
    await client.http.get("/api/v1/public/platforms/P-A0")
    await client.repo.cache.refreshed()
    reads = Reads(client, monkeypatch)
    served = {p: await client.http.get(f"/api/v1/public/platforms/{p}") for p in ("P-A1", "P-A2")}
    assert reads.count == 0
    client.repo.cache.invalidate()
    for platform, response in served.items():
        alone = await client.http.get(f"/api/v1/public/platforms/{platform}")  # read by itself
        assert alone.headers["etag"] == response.headers["etag"] and alone.json()["id"] == platform


def family_of(reads: list[int], payload: dict[str, str], before: Any = None) -> Family:
    async def members() -> AsyncIterator[tuple[str, Any]]:
        reads[0] += 1
        if before:
            before()
        for key, value in payload.items():
            yield key, {"status": value}

    return Family("pages", members)


async def test_a_family_is_read_at_most_once_in_half_a_keep_and_refreshes_its_members() -> None:
    now, reads = [100.0], [0]
    cache = ReadCache(keep_s=5, clock=lambda: now[0])
    family = family_of(reads, {"a": "new", "b": "new"})
    await cache.load("a", _new, family)
    await cache.load("zzz", _new, family)  # another miss meanwhile: no second read of the family
    await cache.refreshed()
    assert reads[0] == 1 and cache.misses == 2
    now[0] = 102.5
    assert (await cache.load("b", _new, family)).read_at == 100.0  # a member, from the family's read
    await cache.refreshed()
    assert reads[0] == 2 and cache._items["b"].read_at == 102.5  # past half its keep: the family is read again


async def test_a_family_read_that_raced_a_change_is_not_kept() -> None:
    cache, reads = ReadCache(), [0]
    await cache.load("a", _new, family_of(reads, {"b": "old"}, before=cache.invalidate))
    await cache.refreshed()
    assert reads[0] == 1 and list(cache._items) == []  # the change dropped "a"; "b", read before it, is not kept
