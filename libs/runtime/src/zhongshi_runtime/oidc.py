"""Access-token verification for any OpenID Connect provider: keys through discovery (or a JWKS URL or file),
fetched asynchronously and refreshed on schedule and on an unknown key id; role and organisation through
configurable claim mappings (never the OAuth ``scope``)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt

from zhongshi_runtime.auth import Principal, Role
from zhongshi_runtime.settings import ServiceSettings

ALGORITHMS = ("RS256", "ES256", "EdDSA")  # never "none" nor HMAC: a shared secret would let any service mint
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
logger = logging.getLogger("zhongshi.auth")


def _dig(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass(frozen=True)
class ClaimMapping:
    """Where a provider's token carries the role, the organisation and the display name."""

    role_claim: str = "realm_access.roles"
    role_prefix: str = ""
    role_map: Mapping[str, str] = field(default_factory=dict)
    organisation_claim: str = "organisation"
    name_claim: str = "name"

    def role(self, name: Any) -> Role | None:
        """The zhongshi role a provider role name stands for, if any (providers add roles of their own)."""
        text = str(name)
        text = self.role_map.get(text, text)
        if self.role_prefix:
            if not text.startswith(self.role_prefix):
                return None
            text = text.removeprefix(self.role_prefix)
        return Role(text) if text in Role._value2member_map_ else None

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        roles = {r for r in map(self.role, _as_list(_dig(claims, self.role_claim))) if r is not None}
        if len(roles) != 1:
            raise jwt.InvalidTokenError(f"token must carry exactly one zhongshi role in {self.role_claim}")
        organisations = _as_list(_dig(claims, self.organisation_claim))
        if len(organisations) != 1 or not isinstance(organisations[0], str | int) or not str(organisations[0]):
            raise jwt.InvalidTokenError(f"token must carry one organisation in {self.organisation_claim}")
        name = _dig(claims, self.name_claim) or claims.get("preferred_username") or ""
        return Principal(subject=str(claims["sub"]), role=roles.pop(), organisation=str(organisations[0]),
                         name=str(name))


class KeySet:
    """The issuer's signing keys by ``kid``. Re-read every ``refresh_s`` (so a key the provider removed is refused
    within it) and on an unknown ``kid``, at most every ``min_refresh_s`` (so forged kids cannot flood the
    provider). When the provider is unreachable the keys last read stay in use."""

    def __init__(self, *, issuer: str, jwks_url: str = "", jwks_file: str = "", refresh_s: float = 300,
                 min_refresh_s: float = 10, transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.issuer, self.jwks_url, self.refresh_s, self.min_refresh_s = issuer, jwks_url, refresh_s, min_refresh_s
        self.jwks_file = Path(jwks_file) if jwks_file else None
        self._transport, self._clock = transport, clock
        self._keys: dict[str | None, jwt.PyJWK] | None = None
        self._fetched = self._attempted = float("-inf")
        self._lock = asyncio.Lock()
        self._http: httpx.AsyncClient | None = None

    async def key(self, kid: str | None) -> jwt.PyJWK:
        """The verification key ``kid`` names, refreshing first when due."""
        if self._keys is None or self._clock() - self._fetched >= self.refresh_s:
            await self._refresh()
        if self._keys is not None and kid not in self._keys:
            await self._refresh()
        if self._keys is None or kid not in self._keys:
            raise jwt.InvalidKeyError("unknown signing key")
        return self._keys[kid]

    async def _refresh(self) -> None:
        async with self._lock:  # one fetch at a time; the others then see its result
            if self._clock() - self._attempted < self.min_refresh_s:
                return
            self._attempted = self._clock()
            try:
                self._keys = _parse_jwks(await self._document())
                self._fetched = self._clock()
            except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
                logger.warning("could not read the signing keys of %s: %s", self.issuer, exc)

    async def _document(self) -> Any:
        if self.jwks_file is not None:
            return json.loads(await asyncio.to_thread(self.jwks_file.read_text))
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=5, transport=self._transport)
        if not self.jwks_url:
            response = await self._http.get(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
            discovery = response.raise_for_status().json()
            if discovery.get("issuer") != self.issuer:
                raise ValueError(f"discovery names issuer {discovery.get('issuer')!r}, expected {self.issuer!r}")
            self.jwks_url = str(discovery["jwks_uri"])
        return (await self._http.get(self.jwks_url)).raise_for_status().json()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _parse_jwks(document: Any) -> dict[str | None, jwt.PyJWK]:
    keys: dict[str | None, jwt.PyJWK] = {}
    for entry in document["keys"]:
        if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHMS[0]) not in ALGORITHMS:
            continue  # encryption keys and algorithms we refuse anyway (Keycloak publishes RSA-OAEP keys too)
        try:
            keys[entry.get("kid")] = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue
    return keys


class Authenticator:
    """Verifies a bearer access token: signature by the issuer's current keys, ``iss``, ``aud``, ``exp``/``nbf``/
    ``iat`` with a leeway, a maximum lifetime; then maps its claims to a principal."""

    def __init__(self, *, issuer: str, audience: str, keys: KeySet, claims: ClaimMapping | None = None,
                 leeway_s: float = 30, max_lifetime_s: float = 3600) -> None:
        self.issuer, self.audience, self.keys = issuer, audience, keys
        self.claims = claims or ClaimMapping()
        self.leeway_s, self.max_lifetime_s = leeway_s, max_lifetime_s

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Authenticator:
        keys = KeySet(issuer=settings.auth_issuer, jwks_url=settings.auth_jwks_url, jwks_file=settings.auth_jwks_file,
                      refresh_s=settings.auth_jwks_refresh_s, min_refresh_s=settings.auth_jwks_min_refresh_s)
        claims = ClaimMapping(role_claim=settings.auth_role_claim, role_prefix=settings.auth_role_prefix,
                              role_map=settings.auth_role_map, organisation_claim=settings.auth_organisation_claim,
                              name_claim=settings.auth_name_claim)
        return cls(issuer=settings.auth_issuer, audience=settings.auth_audience, keys=keys, claims=claims,
                   leeway_s=settings.auth_leeway_s, max_lifetime_s=settings.auth_max_token_lifetime_s)

    async def verify(self, token: str) -> Principal:
        """The caller the token names; ``jwt.PyJWTError`` when it is not a valid access token for us."""
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r} is not accepted")
        key = await self.keys.key(header.get("kid"))
        if key.algorithm_name != algorithm:
            raise jwt.InvalidAlgorithmError(f"key {header.get('kid')!r} does not sign with {algorithm}")
        claims = jwt.decode(token, key.key, algorithms=[algorithm], audience=self.audience, issuer=self.issuer,
                            leeway=self.leeway_s, options={"require": REQUIRED_CLAIMS})
        if claims["exp"] - claims["iat"] > self.max_lifetime_s:
            raise jwt.InvalidTokenError("token lifetime exceeds the accepted maximum")
        return self.claims.principal(claims)
