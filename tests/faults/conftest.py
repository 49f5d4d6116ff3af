"""The fault suite's own stack (its services read the faults file) and the figures printed at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.chaos import READY_TIMEOUT_S, Chaos
from tests.faults.harness import Report
from zhongshi.launcher import Stack, StackConfig
from zhongshi.plugins import FAULTS

REPORTS = pytest.StashKey[list[Report]]()


@pytest.fixture(scope="package")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chaos]:
    """A stack of its own: the suite kills, pauses and restarts its pieces."""
    var = tmp_path_factory.mktemp("faults")
    faults_file = var / "faults.json"
    # A killed notify's leases expire after NOTIFY_LEASE_S: short here, so its e-mails go out soon after.
    env = {"ZHONGSHI_FAULTS_FILE": str(faults_file), "NOTIFY_LEASE_S": "15"}
    stack = Stack(StackConfig.isolated(var, extra_env=env, plugins=(FAULTS,)))
    chaos = Chaos(stack, faults_file)
    try:
        chaos.set_hooks({})

        def start() -> None:
            stack.start_infrastructure()
            stack.start_services(READY_TIMEOUT_S)

        chaos.spawn(start)
        chaos.start()
        yield chaos
    finally:
        chaos.stop()
        stack.stop()
        chaos.close()


@pytest.fixture
def reports(request: pytest.FixtureRequest) -> list[Report]:
    return request.config.stash.setdefault(REPORTS, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    found = config.stash.get(REPORTS, [])
    if found:
        terminalreporter.section("fault suite: lost / late / duplicated / redelivered / dead-lettered per scenario")
        for report in found:
            terminalreporter.write_line(report.details())
