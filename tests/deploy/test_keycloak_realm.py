"""The production Keycloak realm (deploy/keycloak/zhongshi-realm.json) issues what the services expect: the six
roles, the claims the default claim mappings read, the audience, a confidential console client with PKCE and a
machine client; people cannot change their own organisation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from zhongshi_runtime.auth import Role
from zhongshi_runtime.oidc import ClaimMapping
from zhongshi_runtime.settings import ServiceSettings

REALM = Path(__file__).parents[2] / "deploy" / "keycloak" / "zhongshi-realm.json"


@pytest.fixture(scope="module")
def realm() -> dict[str, Any]:
    return dict(json.loads(REALM.read_text("utf-8")))


def client(realm: dict[str, Any], client_id: str) -> dict[str, Any]:
    [found] = [c for c in realm["clients"] if c["clientId"] == client_id]
    return dict(found)


def mappers(c: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [m for m in c["protocolMappers"] if m["protocolMapper"] == kind]


def access_claims(c: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """The access token's claims as Keycloak would build them from the client's mappers for ``user``."""
    claims: dict[str, Any] = {"sub": "2c8a0f4e-kc-user", "aud": []}
    for m in c["protocolMappers"]:
        config = m["config"]
        if config.get("access.token.claim") != "true":
            continue
        kind = m["protocolMapper"]
        if kind == "oidc-audience-mapper":
            claims["aud"].append(config["included.custom.audience"])
            continue
        value = {"oidc-usermodel-realm-role-mapper": user["realmRoles"] + ["default-roles-zhongshi"],
                 "oidc-usermodel-attribute-mapper": user["attributes"].get(config.get("user.attribute"), [None])[0],
                 "oidc-usermodel-property-mapper": user.get(config.get("user.attribute", "")),
                 "oidc-hardcoded-claim-mapper": config.get("claim.value")}[kind]
        target = claims
        *path, last = config["claim.name"].split(".")
        for part in path:
            target = target.setdefault(part, {})
        target[last] = value
    return claims


def test_the_realm_defines_exactly_the_six_roles(realm: dict[str, Any]) -> None:
    assert {r["name"] for r in realm["roles"]["realm"]} == {r.value for r in Role}
    assert realm["enabled"] and realm["sslRequired"] == "external" and not realm["registrationAllowed"]
    assert realm["accessTokenLifespan"] <= ServiceSettings().auth_max_token_lifetime_s


def test_a_person_token_maps_to_the_principal_through_the_default_settings(realm: dict[str, Any]) -> None:
    settings = ServiceSettings()
    console = client(realm, "zhongshi-console")
    user = {"username": "hs-wanglei", "realmRoles": ["county_official"],
            "attributes": {"organisation": ["420111"], "display_name": ["王磊"], "organisation_name": ["洪山区经信局"]}}
    claims = access_claims(console, user)
    assert settings.auth_audience in claims["aud"]
    mapping = ClaimMapping(role_claim=settings.auth_role_claim, organisation_claim=settings.auth_organisation_claim,
                           name_claim=settings.auth_name_claim)
    principal = mapping.principal(claims)
    assert (principal.role, principal.organisation, principal.name) == (Role.COUNTY_OFFICIAL, "420111", "王磊")
    assert claims["preferred_username"] == "hs-wanglei" and "scope" not in claims


def test_the_machine_client_acts_as_an_operator_for_everyone(realm: dict[str, Any]) -> None:
    machine = client(realm, "zhongshi-machine")
    assert machine["serviceAccountsEnabled"] and not machine["standardFlowEnabled"] and not machine["publicClient"]
    [account] = [u for u in realm["users"] if u.get("serviceAccountClientId") == "zhongshi-machine"]
    claims = access_claims(machine, {**account, "attributes": {}})
    principal = ClaimMapping().principal(claims)
    assert (principal.role, principal.organisation) == (Role.OPERATOR, "*") and "zhongshi" in claims["aud"]


def test_the_console_is_a_confidential_code_flow_client_with_pkce(realm: dict[str, Any]) -> None:
    console = client(realm, "zhongshi-console")
    assert not console["publicClient"] and console["clientAuthenticatorType"] == "client-secret"
    assert console["secret"].startswith("${") and console["secret"].endswith("}")  # from the environment
    assert console["standardFlowEnabled"] and not console["implicitFlowEnabled"]
    assert not console["directAccessGrantsEnabled"] and not console["serviceAccountsEnabled"]
    assert console["attributes"]["pkce.code.challenge.method"] == "S256"
    assert console["redirectUris"] == ["${ZHONGSHI_CONSOLE_URL}/auth/callback"]
    assert "basic" in console["defaultClientScopes"]  # Keycloak 25+: the `sub` claim


def test_every_sign_in_sign_out_and_failure_is_kept_by_the_provider(realm: dict[str, Any]) -> None:
    """The sign-in trail (who, when, from which address, and every failure) is the provider's: 180 days, with
    every change an administrator makes."""
    assert realm["eventsEnabled"] and realm["eventsExpiration"] == 180 * 24 * 3600
    assert {"LOGIN", "LOGIN_ERROR", "LOGOUT", "CLIENT_LOGIN", "CLIENT_LOGIN_ERROR"} <= set(realm["enabledEventTypes"])
    assert realm["adminEventsEnabled"] and realm["adminEventsDetailsEnabled"]


def test_people_cannot_edit_their_own_role_or_organisation(realm: dict[str, Any]) -> None:
    [provider] = realm["components"]["org.keycloak.userprofile.UserProfileProvider"]
    profile = json.loads(provider["config"]["kc.user.profile.config"][0])
    attributes = {a["name"]: a for a in profile["attributes"]}
    for name in ("organisation", "organisation_name", "display_name"):
        assert attributes[name]["permissions"]["edit"] == ["admin"], name
    assert profile["unmanagedAttributePolicy"] != "ENABLED"  # users cannot add claims of their own


def test_the_only_placeholders_are_the_documented_environment_variables() -> None:
    """Keycloak replaces ${NAME} from the environment at import: nothing else may look like one."""
    found = set(re.findall(r"\$\{([^}]*)\}", REALM.read_text("utf-8")))
    assert found == {"ZHONGSHI_CONSOLE_CLIENT_SECRET", "ZHONGSHI_MACHINE_CLIENT_SECRET", "ZHONGSHI_CONSOLE_URL"}
    assert "ZHONGSHI_CONSOLE_URL" in (Path(__file__).parents[2] / "docs" / "security.md").read_text("utf-8")
