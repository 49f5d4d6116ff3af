"""`zhongshi up`: the embedded stack (unless KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI point elsewhere) and
the five services, each its own process on its own port."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient
from pymongo.database import Database
from zhongshi_runtime.auth import Role

from zhongshi import embedded
from zhongshi.idp.client import TokenClient
from zhongshi.idp.people import CLIENTS
from zhongshi.plugins import TANSU
from zhongshi.polling import wait_until

SERVICES = ("intake", "screening", "review", "registry", "notify")  # the five with APIs, events and manifests
CONSOLE = "console"  # the web front door: calls the five over HTTP; `zhongshi up` starts it with them
APPS = (*SERVICES, CONSOLE)
# The embedded broker answers a JoinGroup only after half the session timeout: 5 s on every start and restart
# at Kafka's 10 s. At 4 s a service joins in 2 s, and a killed member's partitions move on in 4 s.
EMBEDDED_SESSION_TIMEOUT_MS = 4000
# On one machine the services and their databases share the cores. An applicant waits on intake and screening
# (submit → screening verdict); notify plans the notices of events that have happened already, and may trail
# them by seconds (its target: caught up within 30 s of a round's last event). So the embedded stack runs notify
# and its database this much nicer: when the cores are contended the kernel serves the applicant's path first
# and notify with the rest, and an idle core still goes to notify at once (docs/performance-history.md, "Notify
# yields the CPU"). A deployment gives each service its own CPU (deploy/), where the question does not arise.
EMBEDDED_NICE = {"notify": 5}
# The applicant waits on one hop, intake's submitted event to screening's verdict. The embedded broker answers a
# fetch that finds nothing new only after the whole wait (100 ms by default), so a record arriving meanwhile waits
# out the rest: screening alone fetches at 20 ms. Every service at 20 ms would cost half a core of idle polling;
# screening's share is within the noise of an idle stack (docs/performance-history.md, "Screening fetches at
# 20 ms").
EMBEDDED_FETCH_WAIT_MS = {"screening": 20}
DEFAULT_PORTS = {"intake": 8001, "screening": 8002, "review": 8003, "registry": 8004, "notify": 8005, CONSOLE: 8000}


@dataclass
class StackConfig:
    """Where everything lives and listens; defaults are `make run`'s, tests pick free ports."""

    var_dir: Path = Path("var")
    host: str = "127.0.0.1"
    kafka_port: int = field(default_factory=lambda: int(os.environ.get("ZHONGSHI_KAFKA_PORT", "9092")))
    # One embedded database server per service (embedded.start_databases says why), from intake's port up.
    mongo_ports: dict[str, int] = field(default_factory=lambda: {
        name: int(os.environ.get("ZHONGSHI_MONGO_PORT", "27017")) + i for i, name in enumerate(SERVICES)})
    mail_port: int = field(default_factory=lambda: int(os.environ.get("ZHONGSHI_SMTP_PORT", "2525")))
    idp_port: int = field(default_factory=lambda: int(os.environ.get("ZHONGSHI_IDP_PORT", "8010")))
    ports: dict[str, int] = field(default_factory=lambda: {
        name: int(os.environ.get(f"{name.upper()}_PORT", port)) for name, port in DEFAULT_PORTS.items()})
    services: tuple[str, ...] = SERVICES
    kafka_bootstrap_servers: str = field(default_factory=lambda: os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""))
    mongodb_uri: str = field(default_factory=lambda: os.environ.get("MONGODB_URI", ""))
    log_level: str = "INFO"
    extra_env: dict[str, str] = field(default_factory=dict)
    plugins: tuple[str, ...] = ()  # installed into every service (zhongshi.plugins), besides the broker's

    def service_plugins(self, embedded_broker: bool) -> str:
        """ZHONGSHI_PLUGINS for the services: the embedded broker's workarounds when it runs, then ``plugins``."""
        return ",".join(((TANSU,) if embedded_broker else ()) + self.plugins)

    @property
    def broker_address(self) -> str:
        """The configured Kafka, else where the embedded broker listens."""
        return self.kafka_bootstrap_servers or f"{self.host}:{self.kafka_port}"

    def database_uri(self, service: str) -> str:
        """Where ``service``'s database lives: the configured MongoDB, else its embedded database server."""
        return self.mongodb_uri or f"mongodb://{self.host}:{self.mongo_ports[service]}/?directConnection=true"

    @property
    def issuer(self) -> str:
        """The embedded identity provider's issuer URL."""
        return f"http://{self.host}:{self.idp_port}"

    @classmethod
    def isolated(cls, var_dir: Path, **overrides: object) -> StackConfig:
        """A stack on free ports under ``var_dir``, ignoring any external broker/database settings."""
        kafka, mail, idp, *ports = embedded.free_ports(3 + len(APPS) + len(SERVICES))
        apps, databases = ports[:len(APPS)], ports[len(APPS):]
        return cls(var_dir=var_dir, kafka_port=kafka, mongo_ports=dict(zip(SERVICES, databases, strict=True)),
                   mail_port=mail, idp_port=idp, ports=dict(zip(APPS, apps, strict=True)),
                   kafka_bootstrap_servers="", mongodb_uri="",
                   **overrides)  # type: ignore[arg-type]


class Stack:
    """Starts and stops the stack; tests use it to kill and restart pieces."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.var = config.var_dir.resolve()
        self.broker: subprocess.Popen[bytes] | None = None
        self.databases: dict[str, embedded.Child] = {}
        self.processes: dict[str, embedded.Child] = {}
        self.epoch = ""
        self.bootstrap = config.kafka_bootstrap_servers
        self.embedded_broker = not config.kafka_bootstrap_servers
        self.embedded_database = not config.mongodb_uri
        self.embedded_mail = not os.environ.get("NOTIFY_SMTP_HOST")
        self.mail_sink: embedded.Child | None = None
        self.idp: embedded.Child | None = None
        self.tokens = TokenClient(config.issuer)
        # The OpenID provider the console logs users in with: the embedded one unless configured.
        self.oidc_issuer = os.environ.get("CONSOLE_OIDC_ISSUER", "") or config.issuer
        self.console_client_secret = (os.environ.get("CONSOLE_OIDC_CLIENT_SECRET", "")
                                      or CLIENTS["zhongshi-console"].secret)

    # ---- infrastructure ----
    def start_infrastructure(self) -> None:
        if self.embedded_database:
            self.start_databases()
        if self.embedded_broker:
            self.start_broker()
        else:
            embedded.ensure_topics(self.bootstrap)
        self.start_idp()
        if self.embedded_mail:
            self.mail_sink = embedded.start_mail_sink(self.config.host, self.config.mail_port, self.mailbox,
                                                      self.var / "logs" / "mail.log")

    def start_idp(self) -> None:
        """The development OpenID Connect provider (src/zhongshi/idp), its keys under var/idp/keys."""
        c = self.config
        self.idp = embedded.start_idp(c.host, c.idp_port, self.idp_keys, self.var / "logs" / "idp.log")

    @property
    def idp_keys(self) -> Path:
        """The provider's signing keys: add or delete one to rotate (zhongshi.idp.keys)."""
        return self.var / "idp" / "keys"

    def start_broker(self) -> None:
        """Start an empty embedded broker and create the contract's topics before any service reaches it.

        Tansu creates a topic a client's metadata request names, with its own partition count (four), and the
        services' clients reconnect within milliseconds, so the running processes are paused meanwhile. The
        services republish their retained outbox to the new broker: the epoch is also its cluster id, by which
        services already running notice it."""
        c = self.config
        self.epoch = uuid.uuid4().hex
        with self.paused():
            self.broker = embedded.start_broker(c.host, c.kafka_port, self.var / "logs" / "tansu.log", self.epoch)
            self.bootstrap = f"{c.host}:{c.kafka_port}"
            embedded.ensure_topics(self.bootstrap)

    def restart_broker(self) -> None:
        """Kill the embedded broker (it forgets every record) and start an empty one on the same port."""
        if self.broker is not None:
            self.broker.kill()
            self.broker.wait(10)
        self.start_broker()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """SIGSTOP the running processes for the block, SIGCONT them after."""
        running = [process for process in self.processes.values() if process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            for process in running:
                process.send_signal(signal.SIGCONT)

    def start_databases(self) -> None:
        c = self.config
        self.databases = embedded.start_databases(c.host, c.mongo_ports, self.var / "db", self.var / "logs",
                                                  EMBEDDED_NICE)

    def kill_databases(self) -> None:
        """SIGKILL the embedded database servers (they sync on commit: nothing acknowledged is lost)."""
        for process in self.databases.values():
            process.kill()
            process.wait(10)
        self.databases = {}

    def database_uri(self, service: str) -> str:
        """Where ``service``'s database lives."""
        return self.config.database_uri(service)

    @property
    def database_uris(self) -> dict[str, str]:
        """Each service's database server, for tools that read several services' databases."""
        return {name: self.database_uri(name) for name in SERVICES}

    @property
    def mailbox(self) -> Path:
        """The local maildir the embedded SMTP sink delivers notify's e-mail to."""
        return self.var / "mail"

    # ---- services ----
    def service_env(self, name: str) -> dict[str, str]:
        base = name.split("-")[0]  # a replica ("screening-2") is configured as its service
        env = {
            **os.environ,
            "ZHONGSHI_ENV": "development",  # the embedded stack mints its own keys: never production
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "ZHONGSHI_PLUGINS": self.config.service_plugins(self.embedded_broker),
            "ZHONGSHI_BROKER_EPOCH": self.epoch,
            "AUTH_ISSUER": self.config.issuer,
            "LOG_LEVEL": self.config.log_level,
            f"{base.upper()}_PORT": str(self.config.ports[name]),
            "REGISTRY_CERTIFICATE_KEY_FILE": str(self.var / "registry" / "certificate-ed25519.pem"),
            "NOTIFY_CONTACT_PROOF_KEY_FILE": str(self.var / "notify" / "contact-proof-ed25519.pem"),
            "REGISTRY_CONTACT_PROOF_PUBLIC_KEY_FILE": str(self.var / "notify" / "contact-proof-ed25519.pub"),
            # everything here listens on loopback, webhook receivers too (development only; production refuses it)
            "NOTIFY_WEBHOOK_ALLOW_PRIVATE": os.environ.get("NOTIFY_WEBHOOK_ALLOW_PRIVATE", "true"),
            **({"NOTIFY_SMTP_HOST": self.config.host, "NOTIFY_SMTP_PORT": str(self.config.mail_port)}
               if self.mail_sink is not None else {}),
            **(self.console_env() if base == CONSOLE else {"MONGODB_URI": self.database_uri(base)}),
            **({"KAFKA_SESSION_TIMEOUT_MS": str(EMBEDDED_SESSION_TIMEOUT_MS)} if self.embedded_broker else {}),
            **self.fetch_wait(base),
            **self.config.extra_env,
        }
        return env

    def fetch_wait(self, base: str) -> dict[str, str]:
        """``base``'s fetch wait on the embedded broker (EMBEDDED_FETCH_WAIT_MS), unless the environment sets one."""
        if not self.embedded_broker or base not in EMBEDDED_FETCH_WAIT_MS or "KAFKA_FETCH_MAX_WAIT_MS" in os.environ:
            return {}
        return {"KAFKA_FETCH_MAX_WAIT_MS": str(EMBEDDED_FETCH_WAIT_MS[base])}

    def console_env(self) -> dict[str, str]:
        """The console reaches the five services and the OpenID provider through these."""
        urls = {f"CONSOLE_{name.upper()}_URL": self.url(name) for name in SERVICES if name in self.config.ports}
        return {**urls, "CONSOLE_OIDC_ISSUER": self.oidc_issuer,
                "CONSOLE_OIDC_CLIENT_SECRET": self.console_client_secret}

    def start_service(self, name: str) -> None:
        base = name.split("-")[0]  # a replica ("screening-2") runs its service's module
        self.processes[name] = embedded.spawn_module(f"zhongshi_{base}", [], self.log(name), env=self.service_env(name),
                                                     nice=EMBEDDED_NICE.get(base, 0))

    def restart_service(self, name: str, timeout: float | None = 180) -> None:
        """Start ``name`` again (after a kill or a crash) and wait until it is ready (``timeout=None``: don't)."""
        self.processes.pop(name, None)
        self.start_service(name)
        if timeout is not None:
            self.wait_ready((name,), timeout)

    def add_replica(self, name: str, timeout: float | None = 180) -> str:
        """Start another process of service ``name`` (same consumer group, its own port); return its key."""
        key = f"{name}-{sum(k.split('-')[0] == name for k in self.processes) + 1}"
        self.config.ports[key] = embedded.free_port()
        self.start_service(key)
        if timeout is not None:
            self.wait_ready((key,), timeout)
        return key

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def log(self, name: str) -> Path:
        return self.var / "logs" / f"{name}.log"

    def url(self, name: str) -> str:
        return f"http://{self.config.host}:{self.config.ports[name]}"

    def is_ready(self, name: str, probe: httpx.Client | None = None) -> bool:
        try:
            if probe is None:
                return httpx.get(self.url(name) + "/ready", timeout=2).status_code == 200
            return probe.get(self.url(name) + "/ready").status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, names: tuple[str, ...] | None = None, timeout: float = 180) -> None:
        # One client for all the polls: a new one each time sets up TLS (~20 ms of CPU), which is a quarter of a
        # core taken from the services starting up on a two-core machine.
        with httpx.Client(timeout=2) as probe:
            for name in names or tuple(self.processes):
                wait_until(lambda n=name: self.is_ready(n, probe), f"service {name}",  # type: ignore[misc]
                           timeout, self.processes[name], self.log(name))

    def start(self) -> float:
        """Start everything; return the seconds it took until all services were ready."""
        began = time.monotonic()
        self.start_infrastructure()
        self.start_services()
        return time.monotonic() - began

    def start_services(self, timeout: float = 180) -> None:
        """Start the configured services on the running infrastructure and wait until they are ready."""
        for name in self.config.services:
            self.start_service(name)
        self.wait_ready(timeout=timeout)
        self.wait_rule_sets(timeout)

    def wait_rule_sets(self, timeout: float = 180) -> None:
        """Intake opens rounds only on the rule sets screening announced: wait until it has learned them."""
        if not {"intake", "screening"} <= set(self.processes):
            return
        headers = {"Authorization": f"Bearer {self.token(Role.PROVINCE_OFFICIAL, '42')}"}
        with httpx.Client(timeout=2, headers=headers) as probe:
            def learned() -> bool:
                try:
                    return bool(probe.get(self.url("intake") + "/api/v1/rule-sets").json())
                except (httpx.HTTPError, ValueError):
                    return False

            wait_until(learned, "intake to learn the rule sets", timeout, self.processes["intake"], self.log("intake"))

    def stop_service(self, name: str) -> None:
        embedded.stop(self.processes.pop(name))

    def kill_service(self, name: str) -> None:
        process = self.processes.pop(name)
        process.kill()
        process.wait(10)

    def stop(self) -> None:
        """Stop services, then the broker, the databases and the rest (each group gracefully, in parallel)."""
        embedded.stop_all(list(self.processes.values()))
        embedded.stop_all([p for p in (self.broker, *self.databases.values(), self.mail_sink, self.idp) if p], 15)
        self.processes = {}
        self.broker = self.mail_sink = self.idp = None
        self.databases = {}
        self.tokens.close()

    def token(self, role: Role | str, organisation: str, subject: str | None = None) -> str:
        """An access token from the embedded provider for the demo person of ``role`` and ``organisation``
        (a service identity when there is none, or ``subject``); cached per identity."""
        return self.tokens.for_role(str(Role(role)), organisation, subject)


@contextlib.contextmanager
def service_databases(uris: Mapping[str, str], timeout_ms: int = 5000) -> Iterator[dict[str, Database[Any]]]:
    """Each service's database (``zhongshi_<service>``) on its server, from `Stack.database_uris`."""
    with contextlib.ExitStack() as clients:
        yield {name: clients.enter_context(MongoClient[Any](uri, serverSelectionTimeoutMS=timeout_ms))
               [f"zhongshi_{name}"] for name, uri in uris.items()}
