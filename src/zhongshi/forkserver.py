"""The embedded stack's Python children, forked from one process that has imported their code already.

Every service, console, database server and identity provider of the embedded stack is a Python program whose
imports (FastAPI, FastStream, PyMongo, pydantic models, SecantusDB) cost 1–3 s of CPU each time one starts: on a
two-core machine a stack's start spent more CPU importing than serving. The fork server imports them once
(`PRELOAD`, run as ``python -m zhongshi.forkserver MODULE...``) and forks a child per request, which then runs
``python -m <module>`` as a fresh interpreter would: its own environment, arguments and log, its own process
group, and SIGTERM when the fork server goes. Each is still a real process of its own, killed, stopped and
restarted like any other; only the import work is shared.

The launcher talks to it over a pipe, one JSON line per message: it asks for a child, the server answers with
the child's pid and later with its exit code (the server is the children's parent and reaps them). The server
stops when the pipe closes, that is when the launcher exits, however it exits.

Only the embedded launcher uses it (`zhongshi.embedded.spawn_module`); a deployment runs each service as its own
``python -m zhongshi_<service>``. ``ZHONGSHI_FORKSERVER=off`` makes the launcher start every child that way too.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import importlib
import itertools
import json
import math
import os
import runpy
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG, _PR_SET_NAME = 1, 15
READY_TIMEOUT_S = 120.0


def become_child(nice: int = 0) -> None:  # pragma: no cover - runs in a child
    """The child gets SIGTERM when its parent dies, even by SIGKILL: no process is left behind. (The signal follows
    the thread that spawned the child: start processes from a thread that lives as long as they do.) It also
    leaves the parent's process group, so a terminal's Ctrl-C reaches the launcher alone, which stops the rest.
    ``nice`` is added to its CPU niceness before it starts any thread (its threads inherit it)."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    os.setpgrp()
    if nice:
        os.nice(nice)


def _prctl(option: int, value: object) -> None:  # pragma: no cover - runs in a child
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(option, value)


# ---- the server: ``python -m zhongshi.forkserver MODULE...`` ----

def serve(modules: Sequence[str]) -> int:
    """Import ``modules``, then fork a child for each request on stdin until stdin closes."""
    requests, replies = os.dup(0), os.dup(1)  # the protocol's pipes; stray output of an import goes to the log
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    gc.disable()  # as the gc module advises before forking: no collection leaves holes in shared pages,
    for name in modules:
        importlib.import_module(name)
    gc.freeze()  # and the children's collections leave the imported objects alone (`_become` enables it again)
    if threading.active_count() > 1:  # a fork copies one thread: a lock another one held would stay locked
        _say(replies, {"refused": f"threads running after the imports: {threading.enumerate()}"})
        return 1
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler of its own, so the wake-up fd hears of exits
    _say(replies, {"ready": os.getpid()})
    children: dict[int, int] = {}  # pid -> the launcher's id for it
    pending = b""
    while True:
        readable = select.select([requests, wake_r], [], [])[0]
        if wake_r in readable:
            os.read(wake_r, 4096)
        _reap(children, replies)
        if requests in readable:
            chunk = os.read(requests, 65536)
            if not chunk:
                return 0  # the launcher is gone: the children follow (SIGTERM, `become_child`)
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                request = json.loads(line)
                pid = _fork(request, keep_closed=(requests, replies, wake_r, wake_w))
                children[pid] = request["id"]
                _say(replies, {"spawned": request["id"], "pid": pid})


def _reap(children: dict[int, int], replies: int) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if (ident := children.pop(pid, None)) is not None:
            _say(replies, {"exited": ident, "code": os.waitstatus_to_exitcode(status)})


def _say(fd: int, message: dict[str, Any]) -> None:
    os.write(fd, json.dumps(message).encode() + b"\n")


def _fork(request: dict[str, Any], keep_closed: tuple[int, ...]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1  # pragma: no cover - the child
    try:
        _become(request, keep_closed)
        code = _run(request["module"], request["argv"])
    finally:
        os._exit(code)


def _become(request: dict[str, Any], keep_closed: tuple[int, ...]) -> None:  # pragma: no cover - the child
    """The child's own process: default signal handling, its log as stdout and stderr, its environment."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    gc.enable()
    for fd in keep_closed:
        os.close(fd)
    become_child(request.get("nice", 0))
    _prctl(_PR_SET_NAME, request["module"].encode()[:15])  # `ps -o comm`, `pgrep`, `top` show the module
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.environ.clear()
    os.environ.update(request["env"])


def _run(module: str, argv: list[str]) -> int:  # pragma: no cover - the child
    """``python -m module *argv``, as far as the module can tell; the exit code it would have had."""
    sys.argv = [module, *argv]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit_:
        code = _exit_code(exit_.code)
    except BaseException:  # reported as the interpreter would, then exit 1
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return code


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


# ---- the launcher's side ----

class Forked:
    """A child of the fork server, with the part of `subprocess.Popen`'s interface the launcher uses."""

    def __init__(self, server: ForkServer, ident: int) -> None:
        self._server, self.ident = server, ident
        self.pid = 0
        self.returncode: int | None = None
        self.args = ""

    def poll(self) -> int | None:
        if self.returncode is None and self._server.gone and not _alive(self.pid):
            self.returncode = -signal.SIGTERM  # the server died and took its children with it
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = math.inf if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            if self._server.gone:  # nobody will report the exit: look for the process
                time.sleep(min(left, 0.05))
            else:
                self._server.wait_exit(self, None if math.isinf(left) else left)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """The launcher's handle on a running fork server: `spawn` a module as a child; thread-safe."""

    def __init__(self, modules: Sequence[str], log: Path, cwd: Path | None = None) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "zhongshi.forkserver", *modules], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=out, cwd=cwd, process_group=0)
        assert self.process.stdin is not None and self.process.stdout is not None
        self._requests: IO[bytes] = self.process.stdin
        self._ids = itertools.count(1)
        self._children: dict[int, Forked] = {}
        self._changed = threading.Condition()
        self._ready: int | str | None = None
        self.gone = False
        threading.Thread(target=self._listen, args=(self.process.stdout,), name="forkserver", daemon=True).start()
        with self._changed:
            self._changed.wait_for(lambda: self._ready is not None or self.gone, READY_TIMEOUT_S)
        if not isinstance(self._ready, int):
            self.close()
            raise RuntimeError(f"the fork server did not start: {self._ready or 'no answer'} (log: {log})")

    def spawn(self, module: str, argv: Sequence[str], log: Path, env: dict[str, str], nice: int = 0) -> Forked:
        """Start ``python -m module *argv`` as a child with ``env`` and ``nice`` added to its niceness, its
        output appended to ``log``."""
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()  # there from the start, as when the launcher opens a child's log itself
        child = Forked(self, next(self._ids))
        child.args = f"{module} {' '.join(argv)}"
        request = {"id": child.ident, "module": module, "argv": list(argv), "log": str(log), "env": env,
                   "nice": nice}
        with self._changed:
            self._children[child.ident] = child
            self._requests.write(json.dumps(request).encode() + b"\n")
            self._requests.flush()
            if not self._changed.wait_for(lambda: child.pid or self.gone, READY_TIMEOUT_S) or not child.pid:
                raise RuntimeError(f"the fork server did not start {module}")
        return child

    def wait_exit(self, child: Forked, timeout: float | None) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: child.returncode is not None or self.gone, timeout)

    def close(self) -> None:
        """Close the pipe: the server exits and its children get SIGTERM."""
        with contextlib.suppress(OSError):
            self._requests.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(30)

    def _listen(self, replies: IO[bytes]) -> None:
        for line in replies:
            message = json.loads(line)
            with self._changed:
                self._receive(message)
                self._changed.notify_all()
        with self._changed:
            self.gone = True
            self._changed.notify_all()

    def _receive(self, message: dict[str, Any]) -> None:
        if "ready" in message or "refused" in message:
            self._ready = message.get("ready") or message["refused"]
        elif "spawned" in message:
            self._children[message["spawned"]].pid = message["pid"]
        elif "exited" in message:
            self._children.pop(message["exited"]).returncode = message["code"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))
