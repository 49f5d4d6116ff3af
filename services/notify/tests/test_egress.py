"""Issue 18 item 3: webhooks reach public addresses only (at registration and again at each delivery, so DNS
rebinding fails), a delivery has one total deadline and a response-size cap, and one slow receiver holds up
no other delivery."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from zhongshi_notify.channels import WebhookSender
from zhongshi_notify.deliveries import InMemoryDeliveryStore
from zhongshi_notify.egress import EgressGuard, Refused
from zhongshi_notify.planning import Channel, Delivery, SendResult, Status, Subscription

from .samples import HANG_S, NOW, Clock
from .test_dispatcher import OK, delivery, dispatcher

PUBLIC = "93.184.216.34"


class Dns:
    """A resolver answering from a table; each answer is taken in turn (the last one repeats)."""

    def __init__(self, **answers: str | list[str]) -> None:
        self.answers = {host.replace("_", "."): [a] if isinstance(a, str) else a for host, a in answers.items()}
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        queue = self.answers.get(host)
        if not queue:
            raise OSError(f"{host}: no such name")
        return [queue.pop(0) if len(queue) > 1 else queue[0]]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8001/api", "http://[::1]/x", "http://10.0.0.5/x", "http://172.16.3.4/x",
    "http://192.168.1.1/x", "http://169.254.169.254/latest/meta-data/", "http://100.100.100.200/latest/",
    "http://[fd00:ec2::254]/", "http://[::ffff:127.0.0.1]/x", "http://0.0.0.0:8005/", "http://100.64.0.1/",
    "http://intake:8001/api/v1", "http://mongodb:27017/", "http://notify.zhongshi.svc.cluster.local/",
    "http://localhost:8005/", "http://build.internal/hook", "http://rebind.example/hook",
    "http://user:pw@gov.example/hook", "ftp://gov.example/x",
])
async def test_internal_addresses_and_names_are_refused(url: str) -> None:
    guard = EgressGuard(resolver=Dns(gov_example=PUBLIC, rebind_example="10.1.2.3"))
    with pytest.raises(Refused):
        await guard.check(url)


async def test_a_public_name_is_pinned_to_the_address_that_was_checked() -> None:
    target = await EgressGuard(resolver=Dns(gov_example=PUBLIC)).check("https://gov.example:8443/hook?x=1")
    assert (target.url, target.host) == (f"https://{PUBLIC}:8443/hook?x=1", "gov.example")


async def test_loopback_needs_the_explicit_development_switch() -> None:
    assert (await EgressGuard(allow_private=True).check("http://127.0.0.1:9/h")).url == "http://127.0.0.1:9/h"


def subscription(url: str) -> Subscription:
    return Subscription(id="wh-1", url=url, event_types=["t"], secret="whsec_" + "a" * 40, created_at=NOW)


async def test_a_name_rebound_to_an_internal_address_after_registration_is_refused_at_delivery() -> None:
    dns = Dns(gov_example=[PUBLIC, "127.0.0.1"])
    guard = EgressGuard(resolver=dns)
    await guard.check("http://gov.example/hook")  # registration saw a public address
    result = await WebhookSender(5, guard=guard).send(delivery(1, Channel.WEBHOOK), subscription("http://gov.example/hook"))
    assert not result.ok and not result.retryable and "refused" in result.error
    assert dns.asked == ["gov.example", "gov.example"]


@contextlib.asynccontextmanager
async def raw_server(body_chunk: bytes, pause_s: float) -> AsyncIterator[str]:
    """An HTTP server answering 200 and then an endless body, one chunk every ``pause_s``."""
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n")
            while True:
                writer.write(b"%x\r\n%s\r\n" % (len(body_chunk), body_chunk))
                await writer.drain()
                await asyncio.sleep(pause_s)
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    finally:
        server.close()


async def timed_send(sender: WebhookSender, url: str) -> tuple[SendResult, float]:
    started = time.monotonic()
    result = await asyncio.wait_for(sender.send(delivery(1, Channel.WEBHOOK), subscription(url)), 60)
    return result, time.monotonic() - started


async def test_a_receiver_trickling_its_answer_is_cut_at_the_total_deadline() -> None:
    async with raw_server(b"x", 0.05) as url:  # every read is quick: only a total deadline ends it
        result, elapsed = await timed_send(WebhookSender(1.0, guard=EgressGuard(allow_private=True)), url)
    assert not result.ok and result.retryable and "within 1 s" in result.error
    assert elapsed < 30


async def test_an_endless_answer_is_read_up_to_the_cap_only() -> None:
    async with raw_server(b"y" * 4096, 0) as url:
        sender = WebhookSender(30, guard=EgressGuard(allow_private=True), max_response_bytes=16384)
        result, elapsed = await timed_send(sender, url)
    assert result.ok and result.status_code == 200
    assert elapsed < 25  # the 30 s deadline was not what ended it


class Stalling:
    """A sender whose deliveries to ``slow`` wait until released; the others are sent at once."""

    def __init__(self) -> None:
        self.release, self.fast_sent, self.sent = asyncio.Event(), asyncio.Event(), []  # type: ignore[var-annotated]

    async def send(self, d: Delivery, subscription: Subscription | None) -> SendResult:
        if d.recipient == "slow":
            await self.release.wait()
        else:
            self.fast_sent.set()
        self.sent.append(d.id)
        return OK


async def test_one_slow_receiver_does_not_hold_up_deliveries_to_the_others() -> None:
    store, sender, clock = InMemoryDeliveryStore(), Stalling(), Clock()
    for sub in ("slow", "fast"):
        await store.add_subscription(subscription("https://gov.example/h").model_copy(update={"id": sub}))
    await store.add([delivery(1, Channel.WEBHOOK, "slow")])
    d = dispatcher(store, {Channel.WEBHOOK: sender}, clock)
    await asyncio.wait_for(d.drain(Channel.WEBHOOK), HANG_S)  # starts the slow send and returns
    await store.add([delivery(2, Channel.WEBHOOK, "fast")])
    await asyncio.wait_for(d.drain(Channel.WEBHOOK), HANG_S)

    await asyncio.wait_for(sender.fast_sent.wait(), HANG_S)
    assert "e1/slow/webhook" not in sender.sent
    sender.release.set()
    await asyncio.wait_for(d.settle(), HANG_S)
    assert {x.status for x in await store.deliveries()} == {Status.SENT}
