"""Getting tokens from the development provider, for the launcher, the demo loader, `zhongshi token` and tests."""

from __future__ import annotations

import threading
import time

import httpx

from zhongshi.idp.people import CLIENTS

CLI = CLIENTS["zhongshi-cli"]
RENEW_BEFORE_S = 120  # a cached token is replaced this long before it expires


class TokenClient:
    """Tokens from ``issuer`` through the `zhongshi-cli` client, cached per identity until shortly before expiry."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self._cache: dict[tuple[str, ...], tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._http: httpx.Client | None = None

    def _post(self, fields: dict[str, str]) -> tuple[str, float]:
        with self._lock:
            if self._http is None:  # one connection pool: the demo asks for hundreds of tokens
                self._http = httpx.Client(timeout=10, auth=(CLI.client_id, CLI.secret))
            http = self._http
        response = http.post(f"{self.issuer}/token", data=fields)
        if response.status_code != 200:
            raise RuntimeError(f"the identity provider refused a token: {response.status_code} {response.text}")
        body = response.json()
        return str(body["access_token"]), float(body["expires_in"])

    def _cached(self, key: tuple[str, ...], fields: dict[str, str]) -> str:
        hit = self._cache.get(key)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        token, lifetime = self._post(fields)
        self._cache[key] = (token, time.monotonic() + lifetime - RENEW_BEFORE_S)
        return token

    def for_role(self, role: str, organisation: str, subject: str | None = None) -> str:
        """A token for the demo person of ``role`` and ``organisation`` (or a service identity, or ``subject``)."""
        fields = {"grant_type": "client_credentials", "role": role, "organisation": organisation}
        return self._cached(("role", role, organisation, subject or ""), fields | ({"subject": subject}
                                                                                      if subject else {}))

    def for_login(self, username: str, password: str) -> str:
        """A token for a demo login (the direct grant scripts use)."""
        fields = {"grant_type": "password", "username": username, "password": password, "scope": "openid profile"}
        return self._cached(("login", username, password), fields)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
