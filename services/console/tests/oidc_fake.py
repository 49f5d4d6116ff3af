"""A small OpenID provider for the console's browser tests, with the identity provider's contract: discovery,
authorization code + PKCE (S256 only), a login page with ``username``/``password`` and a 登录 button, a
confidential client (HTTP Basic), refresh tokens. Its access tokens are the stack's development tokens, so
the real services accept them. Replaced by the embedded provider once that is merged."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from zhongshi_runtime.auth import Role, mint_dev_token  # type: ignore[attr-defined, unused-ignore]  # identity merge

CLIENT_ID, CLIENT_SECRET = "zhongshi-console", "console-test-client-key"


@dataclass(frozen=True)
class Account:
    password: str
    role: Role
    organisation: str


@dataclass
class FakeProvider:
    issuer: str
    keys: Path  # the stack's var/auth: tokens signed with its development key
    accounts: dict[str, Account]
    token_ttl_s: int = 3600
    client_secret: str = CLIENT_SECRET
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)
    token_requests: list[str] = field(default_factory=list)

    def tokens(self, username: str) -> dict[str, Any]:
        account = self.accounts[username]
        access = mint_dev_token(self.keys, role=account.role, scope=account.organisation, subject=username,
                                ttl_s=self.token_ttl_s)
        refresh = secrets.token_urlsafe(24)
        self.refresh[refresh] = username
        return {"access_token": access, "token_type": "Bearer", "expires_in": self.token_ttl_s,
                "refresh_token": refresh}


def login_page(params: dict[str, str], error: str = "") -> str:
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items())
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>统一身份认证</title></head><body>'
            f'<main><h1>统一身份认证</h1><p role="alert">{escape(error)}</p><form method="post" action="/authorize">'
            f'{hidden}<label>用户名 <input name="username"></label> <label>密码 <input type="password" '
            f'name="password"></label> <button type="submit">登录</button></form></main></body></html>')


def app_of(provider: FakeProvider) -> FastAPI:
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        i = provider.issuer
        return {"issuer": i, "authorization_endpoint": f"{i}/authorize", "token_endpoint": f"{i}/token",
                "jwks_uri": f"{i}/jwks", "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"], "grant_types_supported":
                ["authorization_code", "refresh_token"], "token_endpoint_auth_methods_supported":
                ["client_secret_basic"]}

    @app.get("/authorize", response_class=HTMLResponse)
    async def authorize(request: Request) -> str:
        q = dict(request.query_params)
        if q.get("client_id") != CLIENT_ID or q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            raise HTTPException(400, "client_id and a S256 code_challenge are required")
        return login_page({k: q.get(k, "") for k in ("redirect_uri", "state", "code_challenge", "nonce")})

    @app.post("/authorize", response_model=None)
    async def sign_in(username: Annotated[str, Form()], password: Annotated[str, Form()],
                      redirect_uri: Annotated[str, Form()], state: Annotated[str, Form()],
                      code_challenge: Annotated[str, Form()]) -> HTMLResponse | RedirectResponse:
        account = provider.accounts.get(username)
        if account is None or not secrets.compare_digest(account.password, password):
            params = {"redirect_uri": redirect_uri, "state": state, "code_challenge": code_challenge}
            return HTMLResponse(login_page(params, "用户名或密码错误"), status_code=401)
        code = secrets.token_urlsafe(24)
        provider.codes[code] = {"username": username, "challenge": code_challenge, "redirect_uri": redirect_uri}
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302)

    @app.post("/token")
    async def token(request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{provider.client_secret}".encode()).decode()
        if not secrets.compare_digest(auth, expected):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await request.form()
        provider.token_requests.append(str(form.get("grant_type")))
        if form.get("grant_type") == "refresh_token":
            username = provider.refresh.pop(str(form.get("refresh_token")), None)
            return JSONResponse(provider.tokens(username) if username else {"error": "invalid_grant"},
                                status_code=200 if username else 400)
        grant = provider.codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if grant is None or grant["challenge"] != challenge or grant["redirect_uri"] != form.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(provider.tokens(grant["username"]))

    return app
