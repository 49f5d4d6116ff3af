"""In-memory fakes and helpers for fast unit and handler tests (never used in production code)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker, KafkaMessage
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.monitoring import CommandFailedEvent, CommandListener, CommandStartedEvent, CommandSucceededEvent
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import Event

from zhongshi_runtime.audit import Audit, AuditRecord
from zhongshi_runtime.auth import Role
from zhongshi_runtime.errors import Refusal, refused
from zhongshi_runtime.messaging import Consumers, create_broker, raw_body
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.oidc import Authenticator, KeySet
from zhongshi_runtime.outbox import Consumed, MongoUnitOfWork, Step, Work, audit_of, split
from zhongshi_runtime.preconditions import stale_write
from zhongshi_runtime.settings import ServiceSettings
from zhongshi_runtime.store import StaleWrite


class InMemoryUnitOfWork:
    """Runs work one unit at a time (as serializable transactions would), remembers consumed event ids and
    collects the outgoing events and the audit records (none when the work raises, as a transaction would)."""

    def __init__(self, service: str = "test") -> None:
        self.service = service
        self.consumed: set[str] = set()
        self.published: list[Event] = []
        self.audit: list[AuditRecord] = []
        self.duplicates = 0
        self._serial = asyncio.Lock()

    async def run(self, work: Work, *, consumed: Consumed | None = None, audit: Audit | None = None) -> Any:
        trail = audit_of(self.service, consumed, audit)
        if consumed and consumed.key in self.consumed:
            self.duplicates += 1
            return False
        async with self._serial:
            value, events = split(await work(None))
        if consumed:
            self.consumed.add(consumed.key)
        self.published.extend(events)
        self.audit.append(trail.record(service=self.service, at=datetime.now(UTC), seq=time.time_ns()))
        return value

    async def run_together(self, steps: Sequence[Step]) -> list[bool]:
        """Each step as `run` runs it, in order, and all or none of them kept, as one transaction would: when a step
        raises, no step's event is recorded as consumed and no event or audit record of theirs is kept (what their
        work wrote to other fakes stays, as with `run`)."""
        applied, consumed = [], set(self.consumed)
        published: list[Event] = []
        audit: list[AuditRecord] = []
        async with self._serial:
            for step in steps:
                applied.append(step.consumed.key not in consumed)
                if applied[-1]:
                    published += await step.work(None)
                    consumed.add(step.consumed.key)
                    trail = audit_of(self.service, step.consumed, step.audit)
                    audit.append(trail.record(service=self.service, at=datetime.now(UTC), seq=time.time_ns()))
        self.consumed, self.duplicates = consumed, self.duplicates + applied.count(False)
        self.published += published
        self.audit += audit
        return applied


class HandlerHarness:
    """A service's consumers on a broker meant for FastStream's TestKafkaBroker, with its DLQs captured."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.metrics = RuntimeMetrics(settings.service_name)
        self.broker: KafkaBroker = create_broker(settings, self.metrics, logging.getLogger("test"))
        self.consumers = Consumers(self.broker, settings, self.metrics, logging.getLogger("test"))
        self.uow = InMemoryUnitOfWork(settings.service_name)
        self.dead_letters: list[tuple[str, dict[str, str], bytes]] = []

    def ready(self) -> KafkaBroker:
        """Subscribe the routed topics and their DLQ captors; return the broker to wrap in TestKafkaBroker."""
        self.consumers.subscribe()
        for topic in self.consumers.topics:
            self.broker.subscriber(topic + ".dlq", group_id="dlq-captor", decoder=raw_body)(self._capture)
        return self.broker

    async def _capture(self, msg: KafkaMessage) -> None:
        self.dead_letters.append((msg.raw_message.topic, dict(msg.headers), msg.body))  # type: ignore[union-attr]


def meta_of(event: Event) -> CloudEvent:
    """A new CloudEvent envelope for ``event``: what a consumer reads beside its body."""
    return CloudEvent.new(event.topic, source="/test", subject=event.application_id)


def envelope(event: Event, **header_overrides: Any) -> dict[str, Any]:
    """Publish kwargs for ``event`` as its producer's outbox would send it."""
    headers = meta_of(event).headers()
    return {"message": event.model_dump_json().encode(), "topic": event.wire_topic().name,
            "key": event.application_id.encode(), "headers": {**headers, **header_overrides}}


# ---- a local token issuer for handler tests: verified through a JWKS file by the production code path ----

TEST_ISSUER = "https://id.test.zhongshi"
TEST_KID = "test-es256"


def ensure_test_keys(directory: Path) -> Path:
    """An ES256 key and its JWKS under ``directory`` unless present; return the JWKS path."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, jwks_path = directory / "test-key.pem", directory / "jwks.json"
    if not private_path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        private_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        public = serialization.load_pem_private_key(private_path.read_bytes(), password=None).public_key()
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))  # type: ignore[arg-type]
        jwks_path.write_text(json.dumps({"keys": [{**jwk, "kid": TEST_KID, "alg": "ES256", "use": "sig"}]}))
    return jwks_path


def mint_test_token(directory: Path, *, role: Role, organisation: str, subject: str | None = None, name: str = "",
                    ttl_s: int = 600, **claims: Any) -> str:
    """An access token shaped as the identity provider issues them (realm role, organisation claim)."""
    ensure_test_keys(directory)
    key = serialization.load_pem_private_key((directory / "test-key.pem").read_bytes(), password=None)
    now = int(time.time())
    body = {"iss": TEST_ISSUER, "aud": "zhongshi", "sub": subject or f"{role}:{organisation}", "iat": now,
            "nbf": now, "exp": now + ttl_s, "jti": str(uuid.uuid4()), "realm_access": {"roles": [str(role)]},
            "organisation": organisation, "name": name, "scope": "openid profile", **claims}
    return jwt.encode(body, key, algorithm="ES256", headers={"kid": TEST_KID, "typ": "at+jwt"})  # type: ignore[arg-type]


def file_authenticator(directory: Path) -> Authenticator:
    """The services' verifier, reading the test keys from a file instead of the provider's JWKS URL."""
    jwks = ensure_test_keys(directory)
    return Authenticator(issuer=TEST_ISSUER, audience="zhongshi", keys=KeySet(issuer=TEST_ISSUER, jwks_file=str(jwks)))


class Gate:
    """Holds the first call that reaches `pause` (once armed) until released: a race, the same way every run."""

    def __init__(self) -> None:
        self.armed = False
        self.reached = asyncio.Event()
        self.released = asyncio.Event()

    async def pause(self) -> None:
        if self.armed:
            self.armed = False
            self.reached.set()
            await self.released.wait()


@dataclass(frozen=True)
class Sent:
    """A command as a client sent it: its name, what it names (a collection, mostly) and the filters it carries."""

    name: str
    target: Any
    filters: tuple[dict[str, Any], ...]

    @classmethod
    def of(cls, event: CommandStartedEvent) -> Sent:
        command = event.command
        statements = [*command.get("updates", []), *command.get("deletes", [])]
        filters = [command.get("filter"), command.get("query"), *(s.get("q") for s in statements)]
        name = event.command_name
        return cls(name, command.get(name), tuple(f for f in filters if isinstance(f, dict)))

    def __str__(self) -> str:
        return f"{self.name} {self.target}"


class Commands(CommandListener):
    """Every command a client sends, in order, and the error code of each that failed (``WriteConflict``, say):
    a test's view of what reached the database. Give it to the client (`AsyncMongoClient(...,
    event_listeners=[commands])`)."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.failures: list[str] = []
        self.conflicted = asyncio.Event()  # set by the first write conflict

    def started(self, event: CommandStartedEvent) -> None:
        self.sent.append(Sent.of(event))

    def succeeded(self, event: CommandSucceededEvent) -> None:
        return None

    def failed(self, event: CommandFailedEvent) -> None:
        self.failures.append(str(event.failure.get("codeName", event.failure.get("code"))))
        if self.failures[-1] == "WriteConflict":
            self.conflicted.set()


class CountingBroker:
    """Stands in for the outbox relay's broker: counts what is published, each acknowledged at once."""

    def __init__(self) -> None:
        self.sent = 0

    async def publish(self, body: bytes, **_: Any) -> Awaitable[None]:
        self.sent += 1
        return asyncio.sleep(0)


def watched(uri: str, name: str) -> tuple[AsyncDatabase[Any], Commands]:
    """Database ``name`` on a new client of ``uri`` whose every command ``Commands`` records."""
    commands = Commands()
    client: AsyncMongoClient[Any] = AsyncMongoClient(uri, tz_aware=True, event_listeners=[commands])
    return client[name], commands


async def race(first: Awaitable[Any], second: Awaitable[Any], gate: Gate, commands: Commands,
               within_s: float = 60) -> None:
    """Two transactions interleaved the same way every run: ``first`` until it reaches ``gate`` (armed here),
    then ``second`` until it ends or meets a write conflict (then it waits for ``first``), then ``first`` on;
    both must end. ``commands`` listens to the client both use."""
    gate.armed = True
    one = asyncio.ensure_future(first)
    await asyncio.wait_for(gate.reached.wait(), within_s)
    commands.conflicted.clear()  # a conflict before this point (a first insert into an index, say) is not ``second``'s
    two = asyncio.ensure_future(second)
    conflict = asyncio.ensure_future(commands.conflicted.wait())
    await asyncio.wait([two, conflict], timeout=within_s, return_when=asyncio.FIRST_COMPLETED)
    conflict.cancel()
    gate.released.set()
    await asyncio.gather(one, two)


def mongo_unit_of_work(db: AsyncDatabase[Any], service: str = "test") -> MongoUnitOfWork:
    """The real unit of work on ``db``: transactions and outbox as in production, with no relay behind it."""
    return MongoUnitOfWork(db.client, db, source=f"/zhongshi/{service}", metrics=RuntimeMetrics(service),
                           on_outbox=lambda: None)


def api_app(keys: Path, *routers: APIRouter) -> FastAPI:
    """A bare app over ``routers`` with the kit's token check and refusals, without broker or lifespan."""
    app = FastAPI()
    app.state.authenticator = file_authenticator(keys)
    app.add_exception_handler(StaleWrite, stale_write)
    app.add_exception_handler(Refusal, refused)
    for router in routers:
        app.include_router(router)
    return app
