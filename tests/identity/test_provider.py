"""The embedded provider in process: discovery, the code flow with PKCE through its login page, the other grants,
userinfo and logout; its tokens verified by the services' own verifier through discovery and JWKS."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from zhongshi_runtime.auth import Role
from zhongshi_runtime.oidc import Authenticator, KeySet

from zhongshi.idp.app import create_app
from zhongshi.idp.keys import add_key, remove_key

from .browser import CALLBACK, CONSOLE, authorize, browser_login, code_from, exchange, pkce

ISSUER = "http://127.0.0.1:8010"
CLI = ("zhongshi-cli", "zhongshi-cli-dev-secret")


@pytest.fixture
async def idp(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ISSUER, tmp_path / "keys")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER) as http:
        http.keys_dir = tmp_path / "keys"  # type: ignore[attr-defined]
        yield http


def verifier_for(http: httpx.AsyncClient, **options: Any) -> Authenticator:
    keys = KeySet(issuer=ISSUER, transport=http._transport, **options)
    return Authenticator(issuer=ISSUER, audience="zhongshi", keys=keys)


async def test_discovery_names_every_endpoint_and_the_jwks_holds_rs256_keys(idp: httpx.AsyncClient) -> None:
    document = (await idp.get("/.well-known/openid-configuration")).json()
    assert document["issuer"] == ISSUER and document["code_challenge_methods_supported"] == ["S256"]
    for endpoint in ("authorization", "token", "userinfo", "end_session"):
        assert document[f"{endpoint}_endpoint"].startswith(ISSUER + "/")
    assert {"authorization_code", "refresh_token", "client_credentials", "password"} <= set(
        document["grant_types_supported"])
    [key] = (await idp.get(document["jwks_uri"].removeprefix(ISSUER))).json()["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig") and "d" not in key


async def test_a_person_logs_in_with_the_code_flow_and_pkce(idp: httpx.AsyncClient) -> None:
    tokens = await browser_login(idp, ISSUER, "applicant01", "zhongshi-demo")
    access = tokens["access_token"]
    assert jwt.get_unverified_header(access)["typ"] == "at+jwt"
    claims = jwt.decode(access, options={"verify_signature": False})
    assert {"iss", "aud", "sub", "exp", "iat", "nbf", "jti", "client_id"} <= set(claims)
    assert (claims["client_id"], claims["realm_access"], claims["preferred_username"]) == (
        "zhongshi-console", {"roles": ["applicant"]}, "applicant01")
    principal = await verifier_for(idp).verify(access)
    assert (principal.role, principal.organisation, principal.subject) == (Role.APPLICANT, claims["organisation"],
                                                                           claims["sub"])
    assert principal.name and claims["organisation_name"] == "武汉光谷光电子技术研究院有限公司"
    identity = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert identity["aud"] == "zhongshi-console" and identity["nonce"].startswith("n-")
    # the provider's session: a second authorization goes straight back with a code
    verifier, challenge = pkce()
    again = await authorize(idp, ISSUER, challenge, "s2")
    assert (await exchange(idp, ISSUER, code_from(again, "s2"), verifier))["access_token"]


async def test_two_people_of_one_enterprise_share_its_organisation_not_their_identity(idp: httpx.AsyncClient) -> None:
    first = await browser_login(idp, ISSUER, "applicant01", "zhongshi-demo")
    idp.cookies.clear()
    second = await browser_login(idp, ISSUER, "applicant01b", "zhongshi-demo")
    a, b = [await verifier_for(idp).verify(t["access_token"]) for t in (first, second)]
    assert a.organisation == b.organisation and a.subject != b.subject and a.name != b.name


async def test_a_wrong_password_shows_the_form_again_and_issues_nothing(idp: httpx.AsyncClient) -> None:
    _, challenge = pkce()
    page = await authorize(idp, ISSUER, challenge, "s")
    fields = dict(parse_qs(urlsplit(str(page.request.url)).query))
    form = {k: v[0] for k, v in fields.items()}
    wrong = await idp.post("/login", data={**form, "username": "applicant01", "password": "guess"})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text and "登录" in wrong.text


async def test_the_code_needs_the_right_verifier_and_works_once(idp: httpx.AsyncClient) -> None:
    verifier, challenge = pkce()
    page = await authorize(idp, ISSUER, challenge, "s")
    form = {k: v[0] for k, v in parse_qs(urlsplit(str(page.request.url)).query).items()}
    code = code_from(await idp.post("/login", data={**form, "username": "county420111",
                                                    "password": "zhongshi-demo"}), "s")
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    assert (await idp.post("/token", auth=CONSOLE, data={**body, "code_verifier": "x" * 50})).json()["error"] == (
        "invalid_grant")
    # a failed attempt spends the code too (it is single-use whatever happens)
    assert (await idp.post("/token", auth=CONSOLE, data={**body, "code_verifier": verifier})).status_code == 400


async def test_pkce_and_a_registered_redirect_are_required(idp: httpx.AsyncClient) -> None:
    plain = await idp.get("/authorize", params={"client_id": "zhongshi-console", "redirect_uri": CALLBACK,
                                                "response_type": "code", "state": "s"})
    assert plain.status_code == 302 and "error=invalid_request" in plain.headers["location"]
    _, challenge = pkce()
    elsewhere = await authorize(idp, ISSUER, challenge, "s", redirect_uri="https://evil.example/auth/callback")
    assert elsewhere.status_code == 400 and "回调地址" in elsewhere.text
    anywhere_local = await authorize(idp, ISSUER, challenge, "s", redirect_uri="http://localhost:3000/auth/callback")
    assert anywhere_local.status_code == 200


async def test_refresh_tokens_rotate(idp: httpx.AsyncClient) -> None:
    tokens = await browser_login(idp, ISSUER, "city420100", "zhongshi-demo")
    body = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    renewed = (await idp.post("/token", auth=CONSOLE, data=body)).json()
    assert (await verifier_for(idp).verify(renewed["access_token"])).role is Role.CITY_OFFICIAL
    assert (await idp.post("/token", auth=CONSOLE, data=body)).json()["error"] == "invalid_grant"  # used up
    stolen = {**body, "refresh_token": renewed["refresh_token"]}
    assert (await idp.post("/token", auth=CLI, data=stolen)).json()["error"] == "invalid_grant"  # not its client


async def test_scripts_use_the_direct_grant_and_client_credentials(idp: httpx.AsyncClient) -> None:
    direct = await idp.post("/token", auth=CLI, data={"grant_type": "password", "username": "expert001",
                                                      "password": "zhongshi-demo"})
    expert = await verifier_for(idp).verify(direct.json()["access_token"])
    assert (expert.role, expert.organisation) == (Role.EXPERT, "E001")
    seeded = await idp.post("/token", auth=CLI, data={"grant_type": "client_credentials", "role": "city_official",
                                                      "organisation": "420100"})
    assert (await verifier_for(idp).verify(seeded.json()["access_token"])).name  # the demo person of Wuhan
    machine = await idp.post("/token", auth=CLI, data={"grant_type": "client_credentials", "role": "applicant",
                                                       "organisation": "91420111MA000000XX"})
    assert (await verifier_for(idp).verify(machine.json()["access_token"])).subject == (
        "svc:applicant:91420111MA000000XX")
    refused = [
        await idp.post("/token", auth=("zhongshi-cli", "wrong"), data={"grant_type": "client_credentials"}),
        await idp.post("/token", auth=CONSOLE, data={"grant_type": "password", "username": "expert001",
                                                     "password": "zhongshi-demo"}),
        await idp.post("/token", auth=CLI, data={"grant_type": "password", "username": "expert001",
                                                 "password": "nope"}),
    ]
    assert [r.status_code for r in refused] == [401, 400, 400]


async def test_userinfo_and_logout(idp: httpx.AsyncClient) -> None:
    tokens = await browser_login(idp, ISSUER, "province01", "zhongshi-demo")
    me = (await idp.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})).json()
    assert (me["preferred_username"], me["organisation"], me["organisation_name"]) == (
        "province01", "42", "湖北省经济和信息化厅")
    assert (await idp.get("/userinfo", headers={"Authorization": "Bearer nonsense"})).status_code == 401
    out = await idp.get("/logout", params={"post_logout_redirect_uri": "http://127.0.0.1:5173/", "state": "z",
                                           "client_id": "zhongshi-console"})
    assert out.status_code == 302 and out.headers["location"] == "http://127.0.0.1:5173/?state=z"
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert (await idp.post("/token", auth=CONSOLE, data=refresh)).status_code == 400  # the session's tokens end
    _, challenge = pkce()
    assert (await authorize(idp, ISSUER, challenge, secrets.token_hex(4))).status_code == 200  # the form again
    elsewhere = await idp.get("/logout", params={"post_logout_redirect_uri": "https://evil.example/"})
    assert elsewhere.status_code == 200 and "已退出登录" in elsewhere.text


async def test_keys_rotate_while_the_provider_runs(idp: httpx.AsyncClient) -> None:
    now = [0.0]
    auth = verifier_for(idp, min_refresh_s=5, refresh_s=60, clock=lambda: now[0])
    keys_dir: Path = idp.keys_dir  # type: ignore[attr-defined]
    data = {"grant_type": "client_credentials", "role": "operator", "organisation": "*"}
    old = (await idp.post("/token", auth=CLI, data=data)).json()["access_token"]
    assert (await auth.verify(old)).role is Role.OPERATOR
    old_kid = jwt.get_unverified_header(old)["kid"]
    new_kid = add_key(keys_dir)
    new = (await idp.post("/token", auth=CLI, data=data)).json()["access_token"]
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    assert (await auth.verify(old)).role is Role.OPERATOR  # the keys as they were then: only the old one
    now[0] += 5
    assert (await auth.verify(new)).role is Role.OPERATOR  # an unknown kid: read again, without a restart
    remove_key(keys_dir, old_kid)
    now[0] += 60  # one refresh interval later the withdrawn key is gone
    with pytest.raises(jwt.InvalidKeyError):
        await auth.verify(old)
    assert (await auth.verify(new)).role is Role.OPERATOR
