"""What the launcher gives each service to run with on the embedded broker, and not on a real Kafka."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from zhongshi.launcher import SERVICES, Stack, StackConfig


def test_screening_alone_fetches_with_a_short_wait_on_the_embedded_broker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_FETCH_MAX_WAIT_MS", raising=False)
    stack = Stack(StackConfig.isolated(tmp_path))
    stack.config.ports["screening-2"] = 1  # a replica is configured as its service
    waits = {name: stack.service_env(name).get("KAFKA_FETCH_MAX_WAIT_MS") for name in (*SERVICES, "screening-2")}
    assert waits == {**dict.fromkeys(SERVICES), "screening": "20", "screening-2": "20"}


def test_a_real_kafka_keeps_every_services_fetch_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_FETCH_MAX_WAIT_MS", raising=False)
    stack = Stack(replace(StackConfig.isolated(tmp_path), kafka_bootstrap_servers="kafka:9092"))
    assert all("KAFKA_FETCH_MAX_WAIT_MS" not in stack.service_env(name) for name in SERVICES)


def test_a_fetch_wait_set_in_the_environment_is_every_services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_FETCH_MAX_WAIT_MS", "250")
    stack = Stack(StackConfig.isolated(tmp_path))
    assert {stack.service_env(name)["KAFKA_FETCH_MAX_WAIT_MS"] for name in SERVICES} == {"250"}
