"""The fork server the embedded launcher starts its Python children from: each child is `python -m module` with its
own arguments, environment and log, on code imported once; signals and exit codes are a process's; and nothing
outlives the launcher."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import niceness_of_threads
from zhongshi import embedded
from zhongshi.forkserver import Forked, ForkServer
from zhongshi.polling import wait_until

pytestmark = pytest.mark.integration

PRELOADED = """\
import os
with open(os.environ["IMPORTED_BY"], "a") as out:  # who imported this module
    out.write(f"{os.getpid()}\\n")
"""
PROBE = """\
import json, os, sys, threading, time
import preloaded
if sys.argv[1] == "thread":  # a thread of its own, then as "wait"
    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
print(json.dumps({"argv": sys.argv[1:], "probe": os.environ.get("PROBE"), "name": __name__}), flush=True)
if sys.argv[1] == "exit":
    sys.exit(int(sys.argv[2]))
if sys.argv[1] == "raise":
    raise ValueError("a broken child")
time.sleep(600)  # "wait": until a signal ends it
"""


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ForkServer]:
    """A fork server whose preloaded module notes each process that imports it."""
    (tmp_path / "preloaded.py").write_text(PRELOADED)
    (tmp_path / "probe.py").write_text(PROBE)
    monkeypatch.setenv("IMPORTED_BY", str(tmp_path / "imported-by"))
    running = ForkServer(["preloaded"], tmp_path / "forkserver.log", cwd=tmp_path)
    yield running
    running.close()


def started(server: ForkServer, tmp_path: Path, *argv: str, nice: int = 0, **env: str) -> tuple[Forked, Path]:
    log = tmp_path / f"probe-{'-'.join(argv)}.log"
    return server.spawn("probe", list(argv), log, {**os.environ, **env}, nice), log


def test_a_child_runs_its_module_with_its_arguments_environment_and_log_on_code_imported_once(
        server: ForkServer, tmp_path: Path) -> None:
    child, log = started(server, tmp_path, "exit", "3", PROBE="first")
    other, other_log = started(server, tmp_path, "exit", "0", PROBE="second")
    assert child.wait(30) == 3 and other.wait(30) == 0
    assert json.loads(log.read_text()) == {"argv": ["exit", "3"], "probe": "first", "name": "__main__"}
    assert json.loads(other_log.read_text())["probe"] == "second"
    assert (tmp_path / "imported-by").read_text().split() == [str(server.process.pid)]  # not once per child
    assert len({child.pid, other.pid, server.process.pid}) == 3


def test_a_child_runs_at_the_niceness_asked_for_with_every_thread_it_starts(server: ForkServer,
                                                                           tmp_path: Path) -> None:
    child, log = started(server, tmp_path, "thread", nice=3)
    wait_until(lambda: log.read_text(), "the child running", 30)
    popen = embedded.spawn([sys.executable, str(tmp_path / "probe.py"), "thread"], tmp_path / "popen.log",
                           nice=3)  # started on its own
    wait_until(lambda: (tmp_path / "popen.log").read_text(), "the other child running", 30)
    nicer = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 3)
    try:
        for pid in (child.pid, popen.pid):
            assert niceness_of_threads(pid) == [nicer, nicer]  # the main thread and the one it started
    finally:
        child.kill()
        popen.kill()
        popen.wait(30)


def test_a_child_that_raises_exits_1_with_its_traceback_in_its_log(server: ForkServer, tmp_path: Path) -> None:
    child, log = started(server, tmp_path, "raise")
    assert child.wait(30) == 1
    assert "ValueError: a broken child" in log.read_text()


def test_signals_end_a_child_as_they_end_a_process(server: ForkServer, tmp_path: Path) -> None:
    killed, log = started(server, tmp_path, "wait")
    terminated, _ = started(server, tmp_path, "wait", "again")
    wait_until(lambda: log.read_text(), "the child running", 30)
    with pytest.raises(subprocess.TimeoutExpired):
        killed.wait(0.2)
    assert killed.poll() is None and os.getpgid(killed.pid) == killed.pid  # a process group of its own
    killed.kill()
    terminated.terminate()
    assert killed.wait(30) == -signal.SIGKILL and terminated.wait(30) == -signal.SIGTERM


def test_when_the_launcher_goes_the_server_and_its_children_go_too(server: ForkServer, tmp_path: Path) -> None:
    child, log = started(server, tmp_path, "wait")
    wait_until(lambda: log.read_text(), "the child running", 30)
    server.close()  # as when the launcher exits, however it exits: the pipe closes
    assert server.process.wait(30) == 0
    assert child.wait(30) == -signal.SIGTERM
    wait_until(lambda: not Path(f"/proc/{child.pid}").exists(), "the child gone", 30)


def test_a_server_that_cannot_preload_leaves_the_launcher_to_start_children_on_their_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "threaded.py").write_text(textwrap.dedent("""\
        import threading, time
        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
        """))
    with pytest.raises(RuntimeError, match="threads running after the imports"):
        ForkServer(["threaded"], tmp_path / "forkserver.log", cwd=tmp_path)

    monkeypatch.setattr(embedded, "_server", None)
    monkeypatch.setattr(embedded, "_server_failed", False)
    monkeypatch.setattr(embedded, "_preloaded", lambda: ["no_such_module_anywhere"])
    (tmp_path / "in.json").write_text('{"a": 1}')
    with caplog.at_level(logging.WARNING, logger=embedded.__name__):
        child = embedded.spawn_module("json.tool", [str(tmp_path / "in.json"), str(tmp_path / "out.json")],
                                      tmp_path / "logs" / "json.log")
    assert isinstance(child, subprocess.Popen) and child.wait(30) == 0
    assert json.loads((tmp_path / "out.json").read_text()) == {"a": 1}
    assert "starting each child on its own" in caplog.text
