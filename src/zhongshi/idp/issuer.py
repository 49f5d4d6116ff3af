"""What the provider issues and remembers: access tokens (RFC 9068), ID tokens, authorization codes (PKCE S256),
rotating refresh tokens and login sessions. State is in memory: a restart logs everyone out (development)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from zhongshi.idp.keys import ALGORITHM, KeyStore
from zhongshi.idp.people import Person

ACCESS_TTL_S = 3600
REFRESH_TTL_S = 8 * 3600
CODE_TTL_S = 60
AUDIENCE = "zhongshi"


@dataclass(frozen=True)
class Authorization:
    """A pending authorization code."""

    person: Person
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    nonce: str
    session: str
    auth_time: int
    expires: float


@dataclass(frozen=True)
class Refresh:
    person: Person
    client_id: str
    scope: str
    session: str
    auth_time: int
    expires: float


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier`` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _sid(session: str) -> str:
    """The session's id in tokens: not the cookie itself, which would let a token's reader take over the session."""
    return hashlib.sha256(session.encode()).hexdigest()[:22] if session else ""


class Issuer:
    def __init__(self, issuer: str, keys: KeyStore) -> None:
        self.issuer, self.keys = issuer, keys
        self.sessions: dict[str, tuple[Person, int]] = {}
        self._codes: dict[str, Authorization] = {}
        self._refresh: dict[str, Refresh] = {}

    # ---- sessions and codes ----
    def login(self, person: Person) -> str:
        session = secrets.token_urlsafe(24)
        self.sessions[session] = (person, int(time.time()))
        return session

    def logout(self, session: str) -> None:
        self.sessions.pop(session, None)
        for token in [t for t, r in self._refresh.items() if r.session == session]:
            del self._refresh[token]

    def code(self, session: str, client_id: str, redirect_uri: str, challenge: str, scope: str, nonce: str) -> str:
        person, auth_time = self.sessions[session]
        code = secrets.token_urlsafe(32)
        self._codes[code] = Authorization(person, client_id, redirect_uri, challenge, scope, nonce, session,
                                          auth_time, time.monotonic() + CODE_TTL_S)
        return code

    def redeem(self, code: str, client_id: str, redirect_uri: str, verifier: str) -> dict[str, Any] | None:
        """Tokens for a code (once only), if the client, redirect URI and PKCE verifier match."""
        grant = self._codes.pop(code, None)
        if grant is None or grant.expires < time.monotonic() or grant.client_id != client_id:
            return None
        if grant.redirect_uri != redirect_uri or not hmac.compare_digest(s256(verifier), grant.challenge):
            return None
        return self.tokens(grant.person, client_id, grant.scope, nonce=grant.nonce, session=grant.session,
                           auth_time=grant.auth_time)

    def refresh(self, token: str, client_id: str) -> dict[str, Any] | None:
        """New tokens for a refresh token (which is used up: refresh tokens rotate)."""
        grant = self._refresh.pop(token, None)
        if grant is None or grant.expires < time.monotonic() or grant.client_id != client_id:
            return None
        return self.tokens(grant.person, client_id, grant.scope, session=grant.session, auth_time=grant.auth_time)

    # ---- tokens ----
    def tokens(self, person: Person, client_id: str, scope: str, *, nonce: str = "", session: str = "",
               auth_time: int | None = None, refresh: bool = True) -> dict[str, Any]:
        auth_time = auth_time or int(time.time())
        response: dict[str, Any] = {
            "access_token": self.access_token(person, client_id, scope, auth_time, session),
            "token_type": "Bearer", "expires_in": ACCESS_TTL_S, "scope": scope,
        }
        if refresh:
            token = secrets.token_urlsafe(32)
            self._refresh[token] = Refresh(person, client_id, scope, session, auth_time,
                                           time.monotonic() + REFRESH_TTL_S)
            response |= {"refresh_token": token, "refresh_expires_in": REFRESH_TTL_S}
        if "openid" in scope.split():
            response["id_token"] = self.id_token(person, client_id, nonce, auth_time, session)
        return response

    def _identity(self, person: Person) -> dict[str, Any]:
        return {"sub": person.subject, "name": person.name, "preferred_username": person.username,
                "realm_access": {"roles": [person.role.value]}, "organisation": person.organisation,
                "organisation_name": person.organisation_name}

    def access_token(self, person: Person, client_id: str, scope: str, auth_time: int, session: str = "") -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": AUDIENCE, "exp": now + ACCESS_TTL_S, "iat": now, "nbf": now,
                  "jti": str(uuid.uuid4()), "client_id": client_id, "azp": client_id, "scope": scope,
                  "auth_time": auth_time, "sid": _sid(session), **self._identity(person)}
        return self._sign(claims, "at+jwt")

    def id_token(self, person: Person, client_id: str, nonce: str, auth_time: int, session: str) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": client_id, "exp": now + ACCESS_TTL_S, "iat": now,
                  "auth_time": auth_time, "azp": client_id, "sid": _sid(session), **self._identity(person),
                  **({"nonce": nonce} if nonce else {})}
        return self._sign(claims, "JWT")

    def _sign(self, claims: dict[str, Any], typ: str) -> str:
        kid, key = self.keys.signing()
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": typ})

    def read_access_token(self, token: str) -> dict[str, Any] | None:
        """The claims of one of our own access tokens, if valid (for userinfo)."""
        try:
            header = jwt.get_unverified_header(token)
            key = self.keys.public(str(header.get("kid")))
            if key is None or header.get("typ") != "at+jwt":
                return None
            claims: dict[str, Any] = jwt.decode(token, key, algorithms=[ALGORITHM], audience=AUDIENCE,
                                                issuer=self.issuer)
            return claims
        except jwt.PyJWTError:
            return None
