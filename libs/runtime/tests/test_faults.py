"""The fault suite's hooks: inert without a faults file, exactly what the file says with one."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from pydantic import ValidationError
from zhongshi_runtime.faults import EXIT_CODE, Faults
from zhongshi_runtime.settings import ServiceSettings


def test_without_a_faults_file_no_hook_does_anything() -> None:
    hooks = Faults("screening")
    for _ in range(100):
        hooks.after_consumed_commit()
    hooks.check_subject("A-1")


async def test_a_poisoned_subject_fails_every_time_and_no_other(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"raise_for_subjects": ["POISON-1"]}))
    hooks = Faults("intake", str(path))
    hooks.check_subject("A-1")
    for _ in range(3):
        with pytest.raises(RuntimeError, match="POISON-1"):
            hooks.check_subject("POISON-1")


def test_the_service_exits_after_its_nth_consumed_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exits: list[int] = []
    monkeypatch.setattr("zhongshi_runtime.faults.os._exit", exits.append)
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


async def test_slow_writes_hold_the_transaction_for_their_share(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"slow_writes": {"fraction": 1.0, "seconds": 0.05, "seed": 1}}))
    began = time.monotonic()
    await Faults("registry", str(path)).before_commit()
    assert time.monotonic() - began >= 0.05
    path.write_text(json.dumps({}))
    began = time.monotonic()
    await Faults("registry", str(path)).before_commit()
    assert time.monotonic() - began < 0.05


def test_production_refuses_a_faults_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHONGSHI_ENV", "production")
    monkeypatch.setenv("AUTH_ISSUER", "https://id.example.gov.cn")
    monkeypatch.setenv("ZHONGSHI_FAULTS_FILE", "/tmp/faults.json")
    with pytest.raises(ValidationError, match="ZHONGSHI_FAULTS_FILE"):
        ServiceSettings()
