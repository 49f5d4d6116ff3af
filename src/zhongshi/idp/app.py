"""The provider's HTTP endpoints: discovery, JWKS, authorize + login (code flow, PKCE S256), token, userinfo and
end-session."""

from __future__ import annotations

import base64
import binascii
import hmac
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from zhongshi.idp import grants
from zhongshi.idp.issuer import Issuer
from zhongshi.idp.keys import KeyStore, ensure_key
from zhongshi.idp.page import login_page, message_page
from zhongshi.idp.people import CLIENTS, DEMO_PASSWORD, Client, demo_people

SESSION_COOKIE = "zhongshi_idp_session"
AUTHORIZE_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
                    "code_challenge_method")


def discovery(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer, "authorization_endpoint": f"{issuer}/authorize", "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo", "jwks_uri": f"{issuer}/jwks",
        "end_session_endpoint": f"{issuer}/logout", "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "password", "client_credentials"],
        "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"], "scopes_supported": ["openid", "profile"],
        "claims_supported": ["sub", "name", "preferred_username", "organisation", "organisation_name",
                             "realm_access"],
    }


async def form(request: Request) -> dict[str, str]:
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))


def authenticate_client(request: Request, fields: dict[str, str]) -> Client | None:
    """The client by HTTP Basic (client_secret_basic) or form fields (client_secret_post), if its secret matches."""
    client_id, secret = fields.get("client_id", ""), fields.get("client_secret", "")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
    client = CLIENTS.get(client_id)
    return client if client and hmac.compare_digest(client.secret, secret) else None


def authorize_problem(params: dict[str, str]) -> str:
    """Why an authorization request cannot go back to its redirect URI (shown on our page), or ""."""
    client = CLIENTS.get(params.get("client_id", ""))
    if client is None or "authorization_code" not in client.grants:
        return "未知的客户端（client_id）"
    if not client.redirect_allowed(params.get("redirect_uri", "")):
        return "回调地址（redirect_uri）未登记"
    return ""


def redirect_error(params: dict[str, str]) -> str:
    """The OAuth error to send back to the client for a bad request, or ""."""
    if params.get("response_type") != "code":
        return "unsupported_response_type"
    if params.get("code_challenge_method") != "S256" or len(params.get("code_challenge", "")) < 43:
        return "invalid_request"  # PKCE with S256 is required
    return ""


def back(params: dict[str, str], **query: str) -> RedirectResponse:
    state = {"state": params["state"]} if params.get("state") else {}
    return RedirectResponse(f"{params['redirect_uri']}?{urlencode({**query, **state})}", status_code=302)


def create_app(issuer_url: str, keys_dir: Path) -> FastAPI:
    ensure_key(keys_dir)
    issuer = Issuer(issuer_url, KeyStore(keys_dir))
    app = FastAPI(title="zhongshi development identity provider", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.issuer = issuer
    add_discovery(app, issuer)
    add_login(app, issuer)
    add_tokens(app, issuer)
    add_logout(app, issuer)
    return app


def add_discovery(app: FastAPI, issuer: Issuer) -> None:
    """Discovery and the signing keys."""

    @app.get("/.well-known/openid-configuration")
    async def configuration() -> dict[str, Any]:
        return discovery(issuer.issuer)

    @app.get("/jwks")
    async def jwks() -> JSONResponse:
        return JSONResponse(issuer.keys.jwks(), headers={"Cache-Control": "max-age=60"})


def add_login(app: FastAPI, issuer: Issuer) -> None:
    """The code flow: authorize (straight back with a code if signed in) and the login form."""

    def grant_code(params: dict[str, str], session: str) -> RedirectResponse:
        code = issuer.code(session, params["client_id"], params["redirect_uri"], params["code_challenge"],
                           params.get("scope") or "openid", params.get("nonce", ""))
        return back(params, code=code)

    @app.get("/authorize")
    async def authorize(request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items() if k in AUTHORIZE_PARAMS}
        if problem := authorize_problem(params):
            return HTMLResponse(message_page("无法登录", problem), status_code=400)
        if error := redirect_error(params):
            return back(params, error=error)
        session = request.cookies.get(SESSION_COOKIE, "")
        if session in issuer.sessions:
            return grant_code(params, session)
        return HTMLResponse(login_page(params))

    @app.post("/login")
    async def login(request: Request) -> Response:
        fields = await form(request)
        params = {k: v for k, v in fields.items() if k in AUTHORIZE_PARAMS}
        if (problem := authorize_problem(params)) or redirect_error(params):
            return HTMLResponse(message_page("无法登录", problem or "登录请求无效"), status_code=400)
        person = demo_people().get(fields.get("username", ""))
        if person is None or not hmac.compare_digest(fields.get("password", ""), DEMO_PASSWORD):
            page = login_page(params, "用户名或密码错误", fields.get("username", ""))
            return HTMLResponse(page, status_code=401)
        session = issuer.login(person)
        response = grant_code(params, session)
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax", path="/")
        return response


def add_tokens(app: FastAPI, issuer: Issuer) -> None:
    """The token endpoint (every grant) and userinfo."""

    @app.post("/token")
    async def token(request: Request) -> JSONResponse:
        fields = await form(request)
        client = authenticate_client(request, fields)
        if client is None:
            return JSONResponse({"error": "invalid_client"}, status_code=401,
                                headers={"WWW-Authenticate": 'Basic realm="zhongshi"'})
        body, status = grants.handle(issuer, client, fields)
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    @app.api_route("/userinfo", methods=["GET", "POST"])
    async def userinfo(request: Request) -> JSONResponse:
        header = request.headers.get("authorization", "")
        claims = issuer.read_access_token(header[7:]) if header.lower().startswith("bearer ") else None
        if claims is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        keys = ("sub", "name", "preferred_username", "organisation", "organisation_name", "realm_access")
        return JSONResponse({k: claims[k] for k in keys if k in claims})


def add_logout(app: FastAPI, issuer: Issuer) -> None:
    """End-session: forget the session, back to a registered address or a farewell page."""

    @app.get("/logout")
    async def logout(request: Request) -> Response:
        issuer.logout(request.cookies.get(SESSION_COOKIE, ""))
        target, state = request.query_params.get("post_logout_redirect_uri", ""), request.query_params.get("state")
        client = CLIENTS.get(request.query_params.get("client_id", "zhongshi-console"))
        if target and client is not None and client.logout_allowed(target):
            response: Response = RedirectResponse(target + (f"?{urlencode({'state': state})}" if state else ""), 302)
        else:
            response = HTMLResponse(message_page("已退出登录", "您已安全退出湖北省制造业中试平台认定系统。"))
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
