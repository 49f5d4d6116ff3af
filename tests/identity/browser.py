"""Logging in as a browser would: the authorization-code flow with PKCE through the provider's own login page."""

from __future__ import annotations

import base64
import hashlib
import secrets
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

CONSOLE = ("zhongshi-console", "zhongshi-console-dev-secret")
CALLBACK = "http://127.0.0.1:5173/auth/callback"


class LoginForm(HTMLParser):
    """The page's form: where it posts, its fields and the label of its submit button."""

    def __init__(self) -> None:
        super().__init__()
        self.action, self.button, self._in_button = "", "", False
        self.fields: dict[str, str] = {}
        self.inputs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input":
            self.inputs.append(a.get("name", ""))
            if a.get("type") == "hidden":
                self.fields[a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("type") == "submit":
            self._in_button = True

    def handle_data(self, data: str) -> None:
        if self._in_button:
            self.button += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._in_button = False


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def authorize(http: httpx.AsyncClient, issuer: str, challenge: str, state: str,
                    redirect_uri: str = CALLBACK) -> httpx.Response:
    params = {"client_id": CONSOLE[0], "redirect_uri": redirect_uri, "response_type": "code",
              "scope": "openid profile", "state": state, "nonce": "n-" + state, "code_challenge": challenge,
              "code_challenge_method": "S256"}
    return await http.get(f"{issuer}/authorize", params=params)


def code_from(response: httpx.Response, state: str) -> str:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK), location
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    return query["code"][0]


async def browser_login(http: httpx.AsyncClient, issuer: str, username: str, password: str) -> dict[str, Any]:
    """Log ``username`` in through the login page; return the console's token response."""
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(8)
    page = await authorize(http, issuer, challenge, state)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    form = LoginForm()
    form.feed(page.text)
    assert {"username", "password"} <= set(form.inputs) and form.button.strip() == "登录"
    posted = await http.post(urljoin(issuer + "/", form.action.lstrip("/")),
                             data={**form.fields, "username": username, "password": password})
    code = code_from(posted, state)
    return await exchange(http, issuer, code, verifier)


async def exchange(http: httpx.AsyncClient, issuer: str, code: str, verifier: str) -> dict[str, Any]:
    r = await http.post(f"{issuer}/token", auth=CONSOLE, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier})
    assert r.status_code == 200, r.text
    return dict(r.json())
