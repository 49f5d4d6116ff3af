"""Rebuilding a service's state from its topics through its own handler registration: the events it
consumes are read from the beginning and handed, in the order they happened, to the handlers the live
consumer runs, writing into an empty database; the result is then compared with the live database."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from zhongshi_runtime.messaging import Consumers, Rejected
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import MongoUnitOfWork, UnitOfWork
from zhongshi_runtime.replay import read_log
from zhongshi_runtime.settings import ServiceSettings
from zhongshi_runtime.upcasting import Upcasters

Database = AsyncDatabase[Any]
# Calls the service's `handlers.register(consumers, uow, repo, ...)` with a repository on ``db``.
Wire = Callable[[Consumers, UnitOfWork, Database], Awaitable[None]]


@dataclass(frozen=True)
class Scope:
    """What a service's replay compares: each collection its handlers build, with the fields no event
    carries left out; and the state it leaves out altogether, with why (shown to the operator)."""

    service: str
    compared: Mapping[str, frozenset[str]]
    left_out: Mapping[str, str] = field(default_factory=dict)
    # State kept by requests that the handlers need first, copied from the live database: each collection
    # with what to take out of a document (what events added, which the replay adds again); None: as it is.
    reference: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]] | None] = field(default_factory=dict)
    only: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # a filter: the documents events made
    # What a request made up (a random id, say) taken out of a document, on both sides, before comparing.
    normalise: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] = field(default_factory=dict)
    # Documents either side may hold alone: what a handler decides from the order events arrived in across
    # topics, which the log does not keep (the replay reads them in the order they happened).
    one_sided: Mapping[str, Callable[[dict[str, Any]], bool]] = field(default_factory=dict)
    # Documents both have that may differ for the same reason: True for a (live, rebuilt) pair that does.
    live_may_differ: Mapping[str, Callable[[dict[str, Any], dict[str, Any]], bool]] = field(default_factory=dict)


@dataclass
class Report:
    """What a rebuild read, applied and found; ``differences`` is None when no live state was compared."""

    records: int = 0
    duplicates: int = 0
    unreadable: list[str] = field(default_factory=list)
    applied: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)
    differences: list[str] | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def replay_consumers(service: str) -> Consumers:
    """A consumer group that is never subscribed: only its routes are used (`Consumers.deliver`)."""
    metrics = RuntimeMetrics(service)
    return Consumers(KafkaBroker(), ServiceSettings(), metrics, logging.getLogger(f"zhongshi.replay.{service}"))


async def rebuild(scope: Scope, wire: Wire, *, bootstrap: str, mongodb_uri: str, into: str,
                  compare_with: str | None = None, live: str | None = None, upcasters: Upcasters | None = None,
                  progress: Callable[[int], None] | None = None) -> Report:
    """Rebuild ``scope.service`` into the empty database ``into``; compare with ``compare_with`` if given.
    ``live`` (default ``compare_with``): where the scope's reference data is copied from."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongodb_uri, tz_aware=True)
    try:
        target = client[into]
        if await target.list_collection_names():
            raise RuntimeError(f"database {into} is not empty: replay writes only into an empty database")
        began = time.monotonic()
        await copy_reference(scope, client, live or compare_with, target)
        consumers = replay_consumers(scope.service)
        uow = MongoUnitOfWork(client, target, source=f"/zhongshi/{scope.service}", metrics=consumers.metrics,
                              on_outbox=lambda: None)  # the outbox is written, never relayed: nothing is published
        await wire(consumers, uow, target)
        log = await read_log(bootstrap, consumers.models, progress=progress, upcasters=upcasters)
        read = time.monotonic()
        report = Report(records=log.records, duplicates=log.duplicates, unreadable=log.unreadable)
        for meta, event in log.events:
            try:
                await consumers.deliver(event, meta)
            except Rejected as exc:  # what the live consumer would dead-letter: report it, never guess
                report.refused.append(f"{event.topic.name} {meta.subject}: {exc}")
                continue
            report.applied[event.topic.name] += 1
        report.seconds = {"read": read - began, "apply": time.monotonic() - read}
        if compare_with is not None:
            report.differences = await differences(scope, client[compare_with], target)
        return report
    finally:
        await client.close()


async def copy_reference(scope: Scope, client: AsyncMongoClient[Any], live: str | None, target: Database) -> None:
    """Reference data no event carries in full, copied as it is so the handlers find it."""
    if scope.reference and live is None:
        raise ValueError(f"{scope.service}'s replay needs the live database for {', '.join(scope.reference)}")
    for name, before_events in scope.reference.items():
        documents = [before_events(d) if before_events else d async for d in client[str(live)][name].find()]
        if documents:
            await target[name].insert_many(documents)


def _never(_: dict[str, Any]) -> bool:
    return False


def _never_both(_: dict[str, Any], __: dict[str, Any]) -> bool:
    return False


def _as_it_is(document: dict[str, Any]) -> dict[str, Any]:
    return document


def _without(document: dict[str, Any], left_out: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in left_out}


async def differences(scope: Scope, live: Database, rebuilt: Database) -> list[str]:
    """Where the rebuilt state differs from the live one, document by document; empty when equal."""
    found: list[str] = []
    for name, left_out in scope.compared.items():
        only, same = scope.only.get(name, {}), scope.normalise.get(name, _as_it_is)
        mine = {d["_id"]: _without(same(d), left_out) async for d in live[name].find(only)}
        theirs = {d["_id"]: _without(same(d), left_out) async for d in rebuilt[name].find(only)}
        alone = scope.one_sided.get(name, _never)
        found += [f"{name} {key}: only live" for key in sorted(mine.keys() - theirs.keys(), key=str)
                  if not alone(mine[key])]
        found += [f"{name} {key}: only rebuilt" for key in sorted(theirs.keys() - mine.keys(), key=str)
                  if not alone(theirs[key])]
        may_differ = scope.live_may_differ.get(name, _never_both)
        for key in sorted(mine.keys() & theirs.keys(), key=str):
            a, b = mine[key], theirs[key]
            if may_differ(a, b):
                continue
            found += [f"{name} {key}.{f}: live {a.get(f)!r} ≠ rebuilt {b.get(f)!r}"
                      for f in sorted(a.keys() | b.keys()) if a.get(f) != b.get(f)]
    return found
