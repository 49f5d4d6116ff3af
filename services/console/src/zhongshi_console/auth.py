"""Login through the OpenID provider (authorization code + PKCE, Authlib), logout, token refresh, and who
may see which page. The tokens stay in the server-side session; the browser never sees them."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jwt
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import Request
from zhongshi_runtime.auth import Role

from zhongshi_console.sessions import CSRF_KEY
from zhongshi_console.settings import ConsoleSettings

REFRESH_MARGIN_S = 30  # refresh a token this close to its expiry, so a service never sees it expire mid-call
PROVIDER = "zhongshi"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ROLES = frozenset(r.value for r in Role)


class LoginRequired(Exception):
    """No (live) session: log in, then come back to ``next``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageNotFound(Exception):
    """The page does not exist for this user (another role's or organisation's page): the console's 404."""


class CsrfRefused(Exception):
    """An unsafe request without the session's CSRF token."""


@dataclass(frozen=True)
class User:
    """The signed-in person as the access token names them."""

    subject: str
    name: str
    role: Role
    organisation: str

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> User:
        """From the provider's claims (docs/security.md: ``realm_access.roles``, ``organisation``, ``name``);
        the older development tokens (``role``, organisation in ``scope``) are still read."""
        roles = [r for r in (claims.get("realm_access") or {}).get("roles", []) if r in ROLES]
        legacy = "role" in claims and not roles
        role = Role(claims["role"]) if legacy else Role(roles[0]) if len(roles) == 1 else None
        organisation = claims.get("organisation") or (claims.get("scope") if legacy else None)
        if role is None or not organisation:
            raise ValueError("the access token names no single zhongshi role and organisation")
        return cls(subject=str(claims["sub"]), role=role, organisation=str(organisation),
                   name=str(claims.get("name") or claims.get("preferred_username") or claims["sub"]))

    def as_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "name": self.name, "role": self.role.value,
                "organisation": self.organisation}


def oauth_client(settings: ConsoleSettings) -> StarletteOAuth2App | None:
    """The provider's client from its discovery document, with PKCE (S256); None when no issuer is set."""
    if not settings.oidc_issuer:
        return None
    oauth = OAuth()
    issuer = settings.oidc_issuer.rstrip("/")
    client: StarletteOAuth2App = oauth.register(
        PROVIDER, client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": settings.oidc_scope, "code_challenge_method": "S256"},
    )
    return client


def token_claims(access_token: str) -> dict[str, Any]:
    """The access token's claims. Not verified here: it came straight from the provider's token endpoint over
    the back channel, and every service verifies it on each call."""
    claims: dict[str, Any] = jwt.decode(access_token, options={"verify_signature": False})
    return claims


def current_user(request: Request) -> User | None:
    data = request.session.get("user")
    return User(data["subject"], data["name"], Role(data["role"]), data["organisation"]) if data else None


def asked_path(request: Request) -> str:
    """Where to come back to after login: this page (GET) or the page that showed the form (POST)."""
    if request.method == "GET":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return safe_next(request.headers.get("referer", "/").split(str(request.base_url).rstrip("/"), 1)[-1])


def safe_next(path: str | None) -> str:
    """Only a path on this site (no ``//host`` or scheme): an open redirect would make the login a lure."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def login_url(next_path: str) -> str:
    return f"/login?next={quote(safe_next(next_path), safe='/')}"


async def access_token(request: Request) -> str:
    """The session's access token, refreshed when about to expire; LoginRequired when there is none."""
    token: dict[str, Any] | None = request.session.get("token")
    if not token:
        raise LoginRequired(asked_path(request))
    if float(token.get("expires_at") or 0) - REFRESH_MARGIN_S > time.time():
        return str(token["access_token"])
    client: StarletteOAuth2App | None = request.app.state.oauth
    if client is None or not token.get("refresh_token"):
        raise LoginRequired(asked_path(request))
    try:
        fresh = await client.fetch_access_token(grant_type="refresh_token", refresh_token=token["refresh_token"])
    except Exception as exc:  # any refusal of the refresh (expired, revoked, provider down) means: log in again
        request.session.pop("token", None)
        request.session.pop("user", None)
        raise LoginRequired(asked_path(request)) from exc
    request.session["token"] = keep_token(fresh, token.get("refresh_token"))
    request.app.state.metrics.refreshes.inc()
    return str(fresh["access_token"])


def keep_token(token: dict[str, Any], previous_refresh: str | None = None) -> dict[str, Any]:
    """What the session keeps of a token response (a refresh may not send a new refresh token)."""
    expires_at = token.get("expires_at") or time.time() + float(token.get("expires_in") or 300)
    return {"access_token": token["access_token"], "refresh_token": token.get("refresh_token") or previous_refresh,
            "id_token": token.get("id_token"), "expires_at": float(expires_at)}


async def check_csrf(request: Request) -> None:
    """App-wide dependency: every POST/PUT/PATCH/DELETE carries the session's token (form field or header)."""
    if request.method not in UNSAFE:
        return
    given = request.headers.get("x-csrf-token")
    if given is None:
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    expected = request.session.get(CSRF_KEY, "")
    if not given or not expected or not hmac.compare_digest(given, expected):
        raise CsrfRefused
