"""The token endpoint's grants: authorization_code (PKCE), refresh_token, password (direct grant for scripts)
and client_credentials (here with a role and organisation to act as: a development convenience)."""

from __future__ import annotations

import hmac
from typing import Any

from zhongshi_runtime.auth import Role

from zhongshi.idp.issuer import Issuer
from zhongshi.idp.people import DEMO_PASSWORD, Client, demo_people, first_person, service_identity

Result = tuple[dict[str, Any], int]


def _error(code: str, description: str = "") -> Result:
    return {"error": code, **({"error_description": description} if description else {})}, 400


def handle(issuer: Issuer, client: Client, fields: dict[str, str]) -> Result:
    grant = fields.get("grant_type", "")
    if grant not in client.grants:
        return _error("unauthorized_client", f"client {client.client_id} may not use grant {grant!r}")
    if grant == "authorization_code":
        tokens = issuer.redeem(fields.get("code", ""), client.client_id, fields.get("redirect_uri", ""),
                               fields.get("code_verifier", ""))
        return (tokens, 200) if tokens else _error("invalid_grant", "code, redirect_uri or code_verifier invalid")
    if grant == "refresh_token":
        tokens = issuer.refresh(fields.get("refresh_token", ""), client.client_id)
        return (tokens, 200) if tokens else _error("invalid_grant", "refresh token invalid or expired")
    if grant == "password":
        return password(issuer, client, fields)
    return client_credentials(issuer, client, fields)


def password(issuer: Issuer, client: Client, fields: dict[str, str]) -> Result:
    person = demo_people().get(fields.get("username", ""))
    if person is None or not hmac.compare_digest(fields.get("password", ""), DEMO_PASSWORD):
        return _error("invalid_grant", "invalid username or password")
    return issuer.tokens(person, client.client_id, fields.get("scope") or "openid profile"), 200


def client_credentials(issuer: Issuer, client: Client, fields: dict[str, str]) -> Result:
    """A token for the demo person of ``role`` and ``organisation``, else a service identity for them."""
    role, organisation = fields.get("role", ""), fields.get("organisation", "")
    if role not in Role._value2member_map_ or not organisation:
        return _error("invalid_request", "client_credentials needs role and organisation here")
    subject = fields.get("subject") or None
    person = None if subject else first_person(Role(role), organisation)
    person = person or service_identity(Role(role), organisation, subject)
    return issuer.tokens(person, client.client_id, fields.get("scope") or "profile", refresh=False), 200
