"""The API suites run against their own embedded stack: fuzzing writes to pools every round shares (experts,
webhooks, the officials' directory), which must not leak into the other suites' stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zhongshi.launcher import Stack, StackConfig


@pytest.fixture(scope="package")
def api_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(StackConfig.isolated(tmp_path_factory.mktemp("api-stack"), log_level="WARNING"))
    try:
        running.start()
        yield running
    finally:
        running.stop()
