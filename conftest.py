"""Fixtures shared by every test directory: sample dossiers and the real embedded stack."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from hypothesis import settings
from zhongshi_contracts.dossier import Dossier

from zhongshi.demo import dossier as demo_dossier
from zhongshi.demo_data import APPLICANTS
from zhongshi.launcher import Stack, StackConfig

TODAY = date(2026, 11, 27)
pytest_plugins = ["tests.timing"]  # each suite's wall time and the machine's busy time, printed at the end

# No per-example deadline (hypothesis's default is 200 ms): on a busy machine a descheduled example overruns it and
# the test fails for the machine, not the code. Speed is measured in `make bench`, not in tests.
settings.register_profile("zhongshi", deadline=None)
settings.load_profile("zhongshi")

# The test pyramid's layers: every test gets one (a suite's tests that need a stack are `integration` too), so
# `pytest -m "unit or handler"` is the fast inner loop.
SUITES = {"faults": "faults", "deploy": "deploy", "api": "api", "integration": "integration"}  # tests/<folder> → layer
STACK_MARKERS = ("browser", "integration")  # tests that start or need real servers name their layer themselves


def _layer(item: pytest.Item) -> str:
    parts = item.path.relative_to(item.config.rootpath).parts
    if parts[0] == "tests" and len(parts) > 2 and parts[1] in SUITES:
        return SUITES[parts[1]]
    for marker in STACK_MARKERS:
        if item.get_closest_marker(marker):
            return marker
    return "handler" if any(word in item.path.name for word in ("handler", "api", "dispatcher")) else "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        layer = _layer(item)
        if not item.get_closest_marker(layer):
            item.add_marker(layer)


def pytest_configure(config: pytest.Config) -> None:
    """Tests run the services as development, explicitly: unset, ZHONGSHI_ENV means production."""
    os.environ.setdefault("ZHONGSHI_ENV", "development")


def _deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        merged[key] = _deep_merge(merged[key], value) if isinstance(value, dict) and key in merged else value
    return merged


@pytest.fixture
def dossier_json() -> Callable[..., dict[str, Any]]:
    """A valid, fully passing dossier as JSON, with nested ``changes`` merged in."""

    def build(index: int = 0, today: date = TODAY, **changes: Any) -> dict[str, Any]:
        return _deep_merge(demo_dossier(index, APPLICANTS[index], today), changes)

    return build


@pytest.fixture
def make_dossier(dossier_json: Callable[..., dict[str, Any]]) -> Callable[..., Dossier]:
    def build(index: int = 0, today: date = TODAY, **changes: Any) -> Dossier:
        return Dossier.model_validate(dossier_json(index, today, **changes))

    return build


INFRASTRUCTURE = pytest.StashKey[Stack]()
USERS_LEFT = pytest.StashKey[int]()


def _needs_infrastructure(item: pytest.Item) -> bool:
    """Whether the test uses the shared stack: by its fixtures, or by being a service's or library's integration
    test (their repository contract tests ask for `mongo_db` at run time, for the Mongo half of the contract)."""
    if "infrastructure" in getattr(item, "fixturenames", ()):
        return True
    in_package = item.path.relative_to(item.config.rootpath).parts[0] in ("libs", "services")
    return in_package and item.get_closest_marker("integration") is not None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Run the tests that share the session's stack first, so it can stop before the suites that start stacks of
    their own (API, deploy, faults): at most one stack runs at a time. Files keep their tests together. Of those,
    the ones that watch the sample round load (`before_sample_round`) come first, before any test loads it."""
    sharing = {item.path for item in session.items if _needs_infrastructure(item)}
    session.items.sort(key=lambda item: (item.path not in sharing, not item.get_closest_marker("before_sample_round")))
    session.config.stash[USERS_LEFT] = sum(map(_needs_infrastructure, session.items))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Stop the shared stack as soon as the last test that uses it is done."""
    yield
    if not _needs_infrastructure(item):
        return
    stash = item.config.stash
    stash[USERS_LEFT] = stash.get(USERS_LEFT, 1) - 1
    if stash[USERS_LEFT] <= 0 and INFRASTRUCTURE in stash:
        stash[INFRASTRUCTURE].stop()


@pytest.fixture(scope="session")
def infrastructure(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real embedded broker and database (no services yet), on free ports, shared by the session."""
    # The DLQ gauges every 2 s, not 15: the dead-letter tests wait for them to show what the ledger lists.
    running = Stack(StackConfig.isolated(tmp_path_factory.mktemp("stack"), extra_env={"DLQ_GAUGE_INTERVAL_S": "2"}))
    request.config.stash[INFRASTRUCTURE] = running
    try:
        running.start_infrastructure()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def stack(infrastructure: Stack) -> Stack:
    """The real stack: the shared broker and database with the five services started on them."""
    infrastructure.start_services()
    return infrastructure


@pytest.fixture
def scratch_uri(infrastructure: Stack) -> str:
    """The database server that holds the tests' fresh databases: intake's (any of the stack's would do)."""
    return infrastructure.database_uri("intake")


@pytest.fixture
def mongo_db(scratch_uri: str) -> Iterator[Any]:
    """A fresh database on the real SecantusDB (an async handle), dropped afterwards. No services needed."""
    import uuid

    from pymongo import AsyncMongoClient, MongoClient

    name = f"test_{uuid.uuid4().hex[:12]}"
    client: AsyncMongoClient[Any] = AsyncMongoClient(scratch_uri, tz_aware=True)
    yield client[name]
    with MongoClient(scratch_uri) as sync_client:
        sync_client.drop_database(name)
