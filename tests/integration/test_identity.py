"""Identity on the real stack: people log in at the embedded provider as a browser would and act with its tokens;
bad tokens are refused and change nothing; keys rotate while the services run."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from zhongshi_runtime.auth import Role

from tests.identity.browser import browser_login
from tests.integration.helpers import Api, eventually
from zhongshi.demo_data import applicant_credit_code
from zhongshi.idp.keys import add_key, remove_key
from zhongshi.launcher import Stack, StackConfig

pytestmark = pytest.mark.integration
PASSWORD = "zhongshi-demo"


async def login(stack: Stack, username: str) -> tuple[dict[str, str], dict[str, Any]]:
    """A fresh browser (its own cookies) logs ``username`` in; the bearer header and the token's claims."""
    async with httpx.AsyncClient(timeout=30) as browser:
        tokens = await browser_login(browser, stack.config.issuer, username, PASSWORD)
    access = tokens["access_token"]
    return {"Authorization": f"Bearer {access}"}, jwt.decode(access, options={"verify_signature": False})


async def test_people_log_in_submit_and_take_a_chain_step_under_their_own_names(
        stack: Stack, api: Api, dossier_json: Callable[..., dict[str, Any]]) -> None:
    round_id = await api.open_round()
    me, claims = await login(stack, "applicant01")
    dossier = dossier_json(0)
    assert claims["organisation"] == dossier["applicant"]["credit_code"] == applicant_credit_code(0)
    intake, screening = stack.url("intake") + "/api/v1", stack.url("screening") + "/api/v1"
    created = await api.http.post(f"{intake}/applications", json={"round_id": round_id, "dossier": dossier},
                                  headers=me)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    await api.upload_materials(app_id, dossier)  # the mechanism documents C9 rests on
    assert (await api.http.post(f"{intake}/applications/{app_id}/submit", headers=me)).status_code == 200
    await api.screened(app_id, timeout=60)

    county, official = await login(stack, "county420111")
    step = await api.http.post(f"{screening}/applications/{app_id}/recommend", json={"opinion": "材料齐全，同意推荐"},
                               headers=county)
    assert step.status_code == 200, step.text
    assert step.json()["opinions"][-1]["actor"]["id"] == official["sub"]  # the person, for officials
    seen = (await api.http.get(f"{screening}/cases/{app_id}", headers=me)).json()["opinions"][-1]["actor"]
    assert seen["id"] == "洪山区经济和信息化局"  # the department, for the applicant

    colleague, other = await login(stack, "applicant01b")  # a second person of the same enterprise
    assert other["sub"] != claims["sub"]
    listings = [(await api.http.get(f"{intake}/applications", params={"round_id": round_id}, headers=h)).json()
                for h in (me, colleague)]
    assert [i["id"] for i in listings[0]["items"]] == [i["id"] for i in listings[1]["items"]] == [app_id]


def _signed(stack: Stack, claims: dict[str, Any], key: Any = None, kid: str | None = None) -> str:
    """A token signed with the provider's current key (or ``key``), carrying exactly ``claims``."""
    if key is None:
        path = sorted(stack.idp_keys.glob("*.pem"))[-1]
        key, kid = serialization.load_pem_private_key(path.read_bytes(), password=None), path.stem
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})


def _claims(stack: Stack, code: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": stack.config.issuer, "aud": "zhongshi", "sub": "someone", "iat": now, "nbf": now,
            "exp": now + 300, "jti": uuid.uuid4().hex, "realm_access": {"roles": ["applicant"]},
            "organisation": code, "name": "某人"}
    return {**base, **changes}


BAD: dict[str, Callable[[Stack, str], str]] = {
    "expired": lambda s, c: _signed(s, _claims(s, c, iat=int(time.time()) - 900, exp=int(time.time()) - 300)),
    "not yet valid": lambda s, c: _signed(s, _claims(s, c, nbf=int(time.time()) + 600, exp=int(time.time()) + 900)),
    "wrong issuer": lambda s, c: _signed(s, _claims(s, c, iss="http://127.0.0.1:1/realms/evil")),
    "wrong audience": lambda s, c: _signed(s, _claims(s, c, aud="account")),
    "unknown key": lambda s, c: _signed(s, _claims(s, c), rsa.generate_private_key(public_exponent=65537,
                                                                                   key_size=2048), "rs256-1"),
    "unsigned": lambda s, c: _signed(s, _claims(s, c)).rsplit(".", 1)[0] + ".",
    "alg none": lambda s, c: jwt.encode(_claims(s, c), None, algorithm="none"),  # type: ignore[arg-type]  # no key
}


@pytest.mark.parametrize("case", BAD)
async def test_a_bad_token_is_401_and_changes_nothing(
    stack: Stack, api: Api, fresh_dossier: Callable[..., dict[str, Any]], case: str
) -> None:
    round_id = await api.open_round()
    dossier = fresh_dossier()
    code = dossier["applicant"]["credit_code"]
    bad = {"Authorization": f"Bearer {BAD[case](stack, code)}"}
    intake = stack.url("intake") + "/api/v1"
    refused = await api.http.post(f"{intake}/applications", json={"round_id": round_id, "dossier": dossier},
                                  headers=bad)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer", refused.text
    assert (await api.http.get(f"{intake}/applications", headers=bad)).status_code == 401
    mine = await api.call("GET", "intake", "/api/v1/applications", Role.APPLICANT, code,
                          params={"round_id": round_id})
    assert mine.json()["total"] == 0  # nothing was created


@pytest.fixture(scope="module")
def rotating_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own (keys are rotated under it), whose services re-read the keys every 2 s."""
    config = StackConfig.isolated(tmp_path_factory.mktemp("rotation"), services=("intake",), log_level="WARNING",
                                  extra_env={"AUTH_JWKS_REFRESH_S": "2", "AUTH_JWKS_MIN_REFRESH_S": "0.5"})
    running = Stack(config)
    try:
        running.start()
        yield running
    finally:
        running.stop()


async def test_a_new_key_is_accepted_without_a_restart_and_a_removed_key_is_refused(rotating_stack: Stack) -> None:
    stack, keys = rotating_stack, rotating_stack.idp_keys
    url = stack.url("intake") + "/api/v1/applications"

    async def status_with(token: str) -> int:
        async with httpx.AsyncClient(timeout=10) as http:
            return (await http.get(url, headers={"Authorization": f"Bearer {token}"})).status_code

    old = stack.token(Role.PROVINCE_OFFICIAL, "42", subject="before-rotation")
    assert await status_with(old) == 200
    old_kid = jwt.get_unverified_header(old)["kid"]
    new_kid = add_key(keys)
    new = stack.token(Role.PROVINCE_OFFICIAL, "42", subject="after-rotation")
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    assert await eventually(lambda: _is(status_with(new), 200), "the new key accepted", 10) and (
        await status_with(old) == 200)  # both published: both accepted
    remove_key(keys, old_kid)
    await eventually(lambda: _is(status_with(old), 401), "the removed key refused", 30)  # refreshed every 2 s
    assert await status_with(new) == 200


async def _is(status: Any, expected: int) -> bool:
    return bool(await status == expected)


def test_zhongshi_token_gets_a_token_for_a_demo_login_or_a_role(stack: Stack) -> None:
    from typer.testing import CliRunner

    from zhongshi.cli import app

    runner = CliRunner()
    by_login = runner.invoke(app, ["token", "--login", "expert001", "--issuer", stack.config.issuer])
    by_role = runner.invoke(app, ["token", "--role", "city_official", "--organisation", "420100",
                                  "--issuer", stack.config.issuer])
    assert by_login.exit_code == 0 and by_role.exit_code == 0, by_login.output + by_role.output
    expert = jwt.decode(by_login.output.strip(), options={"verify_signature": False})
    city = jwt.decode(by_role.output.strip(), options={"verify_signature": False})
    assert (expert["organisation"], expert["realm_access"]["roles"]) == ("E001", ["expert"])
    assert (city["organisation"], city["preferred_username"]) == ("420100", "city420100")
    headers = {"Authorization": f"Bearer {by_role.output.strip()}"}
    assert httpx.get(stack.url("screening") + "/api/v1/queues/city", headers=headers).status_code == 200
