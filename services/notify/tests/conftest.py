"""Local stand-ins for the outside world: a real SMTP server (aiosmtpd), HTTP receivers for the SMS gateway
and webhooks (uvicorn, verifying signatures with the Standard Webhooks reference library), a hanging
SMTP server, and polling with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.integration.helpers import eventually
from zhongshi.embedded import free_port


class Mailbox:
    """aiosmtpd handler keeping every message it accepts, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server on a free local port."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, mailbox
    finally:
        controller.stop()


@pytest.fixture
async def hanging_smtp_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word: the SMTP client can only time out."""
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.read()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool | None
    status: int


@dataclass
class Receiver:
    """An HTTP endpoint recording every request. ``script`` answers the next requests in turn: a status
    code, or a number of seconds to stall before answering 200; then 200. With ``secret`` it verifies the
    Standard Webhooks signature with the reference library."""

    url: str = ""
    secret: str | None = None
    script: list[int | float] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        action = self.script.pop(0) if self.script else 200
        if isinstance(action, float):
            await asyncio.sleep(action)
        status = action if isinstance(action, int) else 200
        self.requests.append(Received(scope["path"], headers, body, self._verified(body, headers), status))
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    def _verified(self, body: bytes, headers: dict[str, str]) -> bool | None:
        if self.secret is None:
            return None
        try:
            Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            return False
        return True

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]


@pytest.fixture
async def http_receiver() -> AsyncIterator[Callable[..., Awaitable[Receiver]]]:
    """Start local HTTP receivers (uvicorn, in this event loop) on free ports; all stop after the test."""
    running: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(path: str = "/", secret: str | None = None) -> Receiver:
        receiver = Receiver(secret=secret)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}{path}"
        server = uvicorn.Server(uvicorn.Config(receiver, lifespan="off", log_config=None, access_log=False,
                                               timeout_graceful_shutdown=1))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        running.append((server, task))

        async def started() -> bool:
            return server.started

        await eventually(started, what="the local HTTP receiver started")
        return receiver

    yield start
    for server, task in running:
        server.should_exit = True
        await task
