"""Server-side sessions: the browser holds only a random id in an HttpOnly, SameSite=Lax cookie; the tokens
stay in this process. Each session carries its own CSRF token."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "zhongshi_console"
CSRF_KEY = "csrf"
USER_KEY = "user"  # set once someone signed in (`pages.login`), read by `auth`
EVICTION_LOOKS = 64  # how many of the oldest sessions eviction looks through for one nobody signed in to
UNSESSIONED = ("/health", "/ready", "/metrics", "/static/")  # probes and files: no session each


@dataclass
class SessionStore:
    """Sessions by id, forgotten after ``idle_s`` without use or when more than ``max_sessions`` exist (LRU, a
    session nobody signed in to first: every request without a cookie makes one, and a flood of them must not
    log everyone out).

    In memory: a restart or another replica asks users to log in again (the provider's own session then
    usually makes that a redirect)."""

    idle_s: float
    max_sessions: int
    clock: Callable[[], float] = time.monotonic
    _data: OrderedDict[str, tuple[float, dict[str, Any]]] = field(default_factory=OrderedDict)

    def load(self, session_id: str | None) -> dict[str, Any] | None:
        if not session_id or session_id not in self._data:
            return None
        seen, data = self._data[session_id]
        if self.clock() - seen > self.idle_s:
            del self._data[session_id]
            return None
        self._data[session_id] = (self.clock(), data)
        self._data.move_to_end(session_id)
        return data

    def create(self) -> tuple[str, dict[str, Any]]:
        session_id = secrets.token_urlsafe(32)
        data: dict[str, Any] = {CSRF_KEY: secrets.token_urlsafe(32)}
        while len(self._data) >= self.max_sessions:
            self._evict()
        self._data[session_id] = (self.clock(), data)
        return session_id, data

    def _evict(self) -> None:
        """Forget the least recently used session nobody signed in to among the oldest few; a signed-in one
        passed over goes to the back (it still expires when idle), and when all of them are signed in, the
        oldest goes."""
        for _ in range(min(EVICTION_LOOKS, len(self._data))):
            session_id, entry = self._data.popitem(last=False)
            if USER_KEY not in entry[1]:
                return
            self._data[session_id] = entry
        self._data.popitem(last=False)

    def drop(self, session_id: str) -> None:
        self._data.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._data)


class SessionMiddleware:
    """Puts the session dict in ``scope["session"]`` (what ``request.session`` and Authlib read); a new or
    renewed session id is sent as a cookie. ``scope["session_id"]`` lets logout and login rotate it."""

    def __init__(self, app: ASGIApp, store: SessionStore, secure: bool = False) -> None:
        self.app, self.store, self.secure = app, store, secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNSESSIONED):
            await self.app(scope, receive, send)
            return
        cookie = SimpleCookie(_header(scope, b"cookie"))
        given = cookie[COOKIE].value if COOKIE in cookie else None
        data = self.store.load(given)
        session_id = given
        if data is None:
            session_id, data = self.store.create()
        scope["session"], scope["session_id"] = data, session_id

        async def send_cookie(message: Message) -> None:
            current = scope["session_id"]
            if message["type"] == "http.response.start" and current != given:
                headers = MutableHeaders(scope=message)
                flags = "; Secure" if self.secure else ""
                headers.append("set-cookie", f"{COOKIE}={current}; Path=/; HttpOnly; SameSite=Lax{flags}")
            await send(message)

        await self.app(scope, receive, send_cookie)


def rotate(scope: Scope, store: SessionStore, keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """A fresh session id (at login and logout: no fixation), carrying ``keep`` over; returns the new data."""
    store.drop(scope["session_id"])
    session_id, data = store.create()
    data.update(keep or {})
    scope["session"], scope["session_id"] = data, session_id
    return data


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""
