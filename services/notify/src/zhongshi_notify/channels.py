"""The outgoing channels: e-mail over SMTP, SMS through an HTTP gateway, signed webhooks.

A sender never raises for a failed send: it answers a `SendResult` saying whether a retry may help.
Each send is bounded by its timeout, so a hanging server costs one lease, never the dispatcher.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol
from urllib.parse import urlsplit

import aiosmtplib
import httpx
from standardwebhooks import Webhook

from zhongshi_notify.egress import EgressGuard, Refused, Target
from zhongshi_notify.planning import Delivery, SendResult, Subscription, http_result


class Sender(Protocol):
    async def send(self, delivery: Delivery, subscription: Subscription | None) -> SendResult: ...


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


class EmailSender:
    """Plain-text UTF-8 e-mail; the Message-ID derives from the delivery id, so a resend can be recognised."""

    def __init__(self, *, host: str, port: int, sender: str, username: str = "", password: str = "",
                 starttls: bool = False, timeout_s: float = 10) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls, self.timeout_s = username, password, starttls, timeout_s

    def message(self, delivery: Delivery) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = delivery.address
        msg["Subject"] = delivery.title
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = f"<{hashlib.sha256(delivery.id.encode()).hexdigest()[:40]}@zhongshi.notify>"
        msg.set_content(delivery.body, charset="utf-8")
        return msg

    async def send(self, delivery: Delivery, subscription: Subscription | None = None) -> SendResult:
        try:
            await aiosmtplib.send(
                self.message(delivery), hostname=self.host, port=self.port, username=self.username or None,
                password=self.password or None, start_tls=self.starttls, timeout=self.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            return SendResult(ok=False, retryable=any(c < 500 for c in codes), status_code=codes[0] if codes else None,
                              error=_error(exc))
        except (aiosmtplib.SMTPDataError, aiosmtplib.SMTPSenderRefused) as exc:
            return SendResult(ok=False, retryable=exc.code < 500, status_code=exc.code, error=_error(exc))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult(ok=False, retryable=True, status_code=getattr(exc, "code", None), error=_error(exc))
        return SendResult(ok=True, status_code=250)


class _HttpSender:
    def __init__(self, timeout_s: float) -> None:
        self.timeout = httpx.Timeout(timeout_s)
        self._tls = ssl.create_default_context()  # built once: a client per send stays cheap

    async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> SendResult:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, verify=self._tls) as client:
                response = await client.post(url, content=content, headers=headers)
        except httpx.HTTPError as exc:  # timeouts, refused connections, broken responses: worth a retry
            return SendResult(ok=False, retryable=True, error=_error(exc))
        return http_result(response.status_code, response.headers.get("retry-after"))


class SmsSender(_HttpSender):
    """POSTs ``{"id", "to", "text"}`` as JSON with a bearer token; ``id`` (also ``Idempotency-Key``) is the
    delivery id, so a gateway that deduplicates sends one text even when we had to retry."""

    def __init__(self, *, url: str, token: str, timeout_s: float = 10) -> None:
        super().__init__(timeout_s)
        self.url, self.token = url, token

    async def send(self, delivery: Delivery, subscription: Subscription | None = None) -> SendResult:
        body = json.dumps({"id": delivery.id, "to": delivery.address, "text": delivery.body}, ensure_ascii=False)
        headers = {"content-type": "application/json", "idempotency-key": delivery.id}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        return await self.post(self.url, content=body.encode(), headers=headers)


class WebhookSender:
    """Standard Webhooks: ``webhook-id`` (the CloudEvent id), ``webhook-timestamp``, ``webhook-signature``.

    The URL is checked again at each delivery and the connection goes to the address that was checked
    (`EgressGuard`); the whole exchange has one deadline and at most ``max_response_bytes`` of the answer is
    read, so a receiver trickling bytes or sending an endless body costs one bounded delivery slot."""

    def __init__(self, timeout_s: float, *, guard: EgressGuard | None = None, max_response_bytes: int = 65536) -> None:
        self.deadline_s, self.max_response_bytes = timeout_s, max_response_bytes
        self.guard = guard or EgressGuard()
        self._tls = ssl.create_default_context()

    async def send(self, delivery: Delivery, subscription: Subscription | None) -> SendResult:
        if subscription is None:
            return SendResult(ok=False, error="no such subscription")
        try:
            target = await self.guard.check(subscription.url)
        except Refused as exc:  # the name now resolves inside the network: never retried into it
            return SendResult(ok=False, retryable=False, error=f"refused: {exc}"[:500])
        now = datetime.now(UTC)  # the receiver checks the timestamp against its own clock: use the real one
        signature = Webhook(subscription.secret).sign(delivery.source_id, now, delivery.body)
        headers = {
            "content-type": "application/json", "user-agent": "zhongshi-notify/1.0", "host": _host_header(target),
            "webhook-id": delivery.source_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        }
        try:
            async with asyncio.timeout(self.deadline_s):
                return await self._exchange(target, delivery.body.encode(), headers)
        except TimeoutError:
            error = f"Timeout: no complete answer within {self.deadline_s:g} s"
            return SendResult(ok=False, retryable=True, error=error)
        except httpx.HTTPError as exc:
            return SendResult(ok=False, retryable=True, error=_error(exc))

    async def _exchange(self, target: Target, content: bytes, headers: dict[str, str]) -> SendResult:
        async with httpx.AsyncClient(timeout=self.deadline_s, verify=self._tls, follow_redirects=False) as client:
            request = client.build_request("POST", target.url, content=content, headers=headers,
                                           extensions={"sni_hostname": target.host})
            response = await client.send(request, stream=True)
            try:
                read = 0
                async for chunk in response.aiter_raw():  # the answer is not used: read a bounded part, then close
                    read += len(chunk)
                    if read > self.max_response_bytes:
                        break
            finally:
                await response.aclose()
        return http_result(response.status_code, response.headers.get("retry-after"))


def _host_header(target: Target) -> str:
    port = urlsplit(target.url).port
    return f"{target.host}:{port}" if port else target.host
