"""Fixtures shared by every test directory: sample dossiers and the real embedded stack."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from zhongshi_contracts.dossier import Dossier

from zhongshi.demo import dossier as demo_dossier
from zhongshi.demo_data import APPLICANTS
from zhongshi.launcher import Stack, StackConfig

TODAY = date(2026, 11, 27)


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


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real stack: Tansu, SecantusDB and the five services, on free ports, for the whole session."""
    running = Stack(StackConfig.isolated(tmp_path_factory.mktemp("stack")))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real embedded database alone (SecantusDB, no broker or services) for repository tests."""
    alone = Stack(StackConfig.isolated(tmp_path_factory.mktemp("database"), services=()))
    try:
        alone.start_database()
        yield alone.mongodb_uri
    finally:
        alone.stop()


@pytest.fixture
def mongo_db(database_uri: str) -> Iterator[Any]:
    """A fresh database on the real SecantusDB (an async handle), dropped afterwards."""
    import uuid

    from pymongo import AsyncMongoClient, MongoClient

    name = f"test_{uuid.uuid4().hex[:12]}"
    client: AsyncMongoClient[Any] = AsyncMongoClient(database_uri, tz_aware=True)
    yield client[name]
    with MongoClient(database_uri) as sync_client:
        sync_client.drop_database(name)
