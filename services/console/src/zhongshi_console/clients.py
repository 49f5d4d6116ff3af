"""Calls to the five services' HTTP APIs, with the user's access token; their answers become page outcomes."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from zhongshi_console.formats import field_errors
from zhongshi_console.settings import SERVICES, ConsoleSettings

T = TypeVar("T")
D = TypeVar("D")


class BackendError(Exception):
    """A service refused or failed; ``message`` is Chinese, ``fields`` the errors by field (422)."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.fields = status, message, fields or {}


class NotSignedIn(Exception):
    """A service answered 401: the session's token is no longer accepted."""


@dataclass
class Backends:
    """One connection pool per service; ``call`` returns the JSON or raises `BackendError`."""

    clients: dict[str, httpx.AsyncClient]

    @classmethod
    def of(cls, settings: ConsoleSettings, transport: httpx.AsyncBaseTransport | None = None) -> Backends:
        return cls({name: httpx.AsyncClient(base_url=settings.service_url(name), timeout=settings.backend_timeout_s,
                                            transport=transport) for name in SERVICES})

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def call(self, service: str, method: str, path: str, token: str | None = None,
                   headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        headers = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        try:
            response = await self.clients[service].request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendError(503, "服务暂时不可用，请稍后再试") from exc
        if response.status_code == 401:
            raise NotSignedIn
        if response.is_success:
            return response.json() if response.content else None
        raise refusal(response)

    async def stream(self, service: str, path: str, token: str | None) -> httpx.Response:
        """A GET whose body is read by the caller (downloads); the caller closes it. Refusals as in `call`."""
        client = self.clients[service]
        try:
            request = client.build_request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise BackendError(503, "服务暂时不可用，请稍后再试") from exc
        if response.is_success:
            return response
        await response.aread()
        await response.aclose()
        if response.status_code == 401:
            raise NotSignedIn
        raise refusal(response)

    async def ready(self, service: str) -> bool:
        try:
            return (await self.clients[service].get("/health", timeout=2)).status_code == 200
        except httpx.HTTPError:
            return False


def refusal(response: httpx.Response) -> BackendError:
    """The service's Chinese ``detail``, or its validation errors by field."""
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, list):
        fields = field_errors(d for d in detail if isinstance(d, dict))
        return BackendError(response.status_code, "请检查标出的内容", fields)
    if response.status_code >= 500 or not isinstance(detail, str):
        return BackendError(response.status_code, "服务暂时不可用，请稍后再试")
    return BackendError(response.status_code, detail)


async def missing_as(call: Awaitable[T], default: D) -> T | D:
    """The call's answer, or ``default`` when the service answers 404 (not there yet); other refusals raise."""
    try:
        return await call
    except BackendError as exc:
        if exc.status != 404:
            raise
        return default
