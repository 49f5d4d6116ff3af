"""The ports a test stack is given: distinct, so no two of its servers race for one."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhongshi import embedded
from zhongshi.launcher import StackConfig


def test_free_ports_are_distinct_even_when_many_are_asked_for() -> None:
    # Asked one at a time, 500 ports held about 10 repeats on this machine: the system hands a released port out again.
    ports = embedded.free_ports(500)
    assert len(set(ports)) == 500


def test_an_isolated_stack_takes_all_its_ports_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    asked: list[int] = []

    def distinct(count: int) -> list[int]:
        asked.append(count)
        return list(range(40000, 40000 + count))

    monkeypatch.setattr(embedded, "free_ports", distinct)
    monkeypatch.setattr(embedded, "free_port", lambda: 40000)  # one at a time, a port can come back
    config = StackConfig.isolated(tmp_path)
    ports = [config.kafka_port, *config.mongo_ports.values(), config.mail_port, config.idp_port, *config.ports.values()]
    assert asked == [len(ports)] and sorted(ports) == list(range(40000, 40000 + len(ports)))
