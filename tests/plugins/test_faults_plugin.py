"""The fault suite's plug-in: inert without a faults file, exactly what the file says with one; refused in
production."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from zhongshi_runtime.plugins import Plugins
from zhongshi_runtime.settings import ServiceSettings

from zhongshi.plugins import FAULTS, faults
from zhongshi.plugins.faults import EXIT_CODE, Faults


def test_without_a_faults_file_no_hook_does_anything() -> None:
    hooks = Faults("screening")
    for _ in range(100):
        hooks.after_consumed_commit()
    hooks.before_handle("A-1")


async def test_a_poisoned_subject_fails_every_time_and_no_other(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"raise_for_subjects": ["POISON-1"]}))
    hooks = Faults("intake", str(path))
    hooks.before_handle("A-1")
    for _ in range(3):
        with pytest.raises(RuntimeError, match="POISON-1"):
            hooks.before_handle("POISON-1")


def test_the_service_exits_after_its_nth_consumed_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr("zhongshi.plugins.faults.os._exit", exits.append)
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"exit_after_commits": {"screening": 3}}))
    hooks, other = Faults("screening", str(path)), Faults("review", str(path))
    for _ in range(2):
        hooks.after_consumed_commit()
        other.after_consumed_commit()
    assert exits == []
    hooks.after_consumed_commit()
    other.after_consumed_commit()
    assert exits == [EXIT_CODE]


async def test_slow_writes_hold_the_transaction_for_their_share(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook asks for the pause the file names, and for none once the entry is gone (recorded, not timed: a
    busy machine stretches any wall-clock bound)."""
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(faults, "asyncio", SimpleNamespace(sleep=sleep))
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"slow_writes": {"fraction": 1.0, "seconds": 0.05, "seed": 1}}))
    await Faults("registry", str(path)).before_commit()
    assert pauses == [0.05]
    path.write_text(json.dumps({}))
    await Faults("registry", str(path)).before_commit()
    assert pauses == [0.05]


def test_production_refuses_the_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHONGSHI_ENV", "production")
    monkeypatch.setenv("AUTH_ISSUER", "https://id.example.gov.cn")
    monkeypatch.setenv("MONGODB_URI", "mongodb://u:p@db.example/?tls=true")
    monkeypatch.setenv("ZHONGSHI_PLUGINS", FAULTS)
    with pytest.raises(ValueError, match="refused in production"):
        Plugins.from_settings(ServiceSettings())


def test_installed_by_name_it_reads_the_file_the_suite_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"raise_for_subjects": ["POISON-2"]}))
    monkeypatch.setenv("ZHONGSHI_ENV", "test")
    monkeypatch.setenv("ZHONGSHI_FAULTS_FILE", str(path))
    monkeypatch.setenv("ZHONGSHI_PLUGINS", FAULTS)
    monkeypatch.setenv("AUTH_ISSUER", "https://id.example.gov.cn")
    plugins = Plugins.from_settings(ServiceSettings())
    with pytest.raises(RuntimeError, match="POISON-2"):
        plugins.before_handle("POISON-2")
