"""Token verification for any OIDC provider: discovery, refusals, claim mappings and key rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from zhongshi_runtime.auth import Principal, Role
from zhongshi_runtime.oidc import Authenticator, ClaimMapping, KeySet

ISSUER = "https://id.example.gov.cn/realms/zhongshi"


class Provider:
    """A fake provider's discovery and JWKS over httpx's mock transport, counting JWKS reads."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.algorithms: dict[str, str] = {}
        self.jwks_reads = 0
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": ISSUER + "/protocol/openid-connect/certs"})
        self.jwks_reads += 1
        keys = []
        for kid, key in self.keys.items():
            algorithm = jwt.get_algorithm_by_name(self.algorithms[kid])
            keys.append({**json.loads(algorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"})
        # Keycloak also publishes an encryption key: it must be skipped, not break the set
        keys.append({"kid": "enc", "kty": "RSA", "use": "enc", "alg": "RSA-OAEP", "n": "AQAB", "e": "AQAB"})
        return httpx.Response(200, json={"keys": keys})

    def add(self, kid: str, algorithm: str = "RS256") -> None:
        self.algorithms[kid] = algorithm
        self.keys[kid] = {"RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
                          "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
                          "EdDSA": ed25519.Ed25519PrivateKey.generate}[algorithm]()

    def token(self, kid: str = "k1", *, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": ["zhongshi", "account"], "sub": "f3c1-user", "iat": now, "nbf": now,
                "exp": now + 300, "jti": "j1", "scope": "openid profile email", "name": "张伟",
                "realm_access": {"roles": ["offline_access", "applicant", "default-roles-zhongshi"]},
                "organisation": "91420111MA00000001", **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.keys[kid], algorithm=self.algorithms[kid],
                          headers={"kid": kid, "typ": "at+jwt", **(headers or {})})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def provider() -> Provider:
    p = Provider()
    p.add("k1")
    return p


def authenticator(provider: Provider, clock: Clock | None = None, **options: Any) -> Authenticator:
    keys = KeySet(issuer=ISSUER, refresh_s=60, min_refresh_s=5, transport=provider.transport,
                  clock=clock or time.monotonic)
    return Authenticator(issuer=ISSUER, audience="zhongshi", keys=keys, **options)


async def test_a_keycloak_shaped_token_names_the_person_role_and_organisation(provider: Provider) -> None:
    principal = await authenticator(provider).verify(provider.token())
    assert principal == Principal(subject="f3c1-user", role=Role.APPLICANT, organisation="91420111MA00000001",
                                  name="张伟")


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
async def test_es256_and_eddsa_keys_are_accepted(provider: Provider, algorithm: str) -> None:
    provider.add("k2", algorithm)
    assert (await authenticator(provider).verify(provider.token("k2"))).role is Role.APPLICANT


def _b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def _unsigned(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, None, algorithm="none", headers={"kid": "k1"})  # type: ignore[arg-type]  # "none" takes no key


def _signed_by_a_dropped_key(p: Provider) -> str:
    p.add("rogue")
    token = p.token("rogue")
    p.keys.pop("rogue")
    return token


REFUSED: dict[str, Callable[[Provider], str]] = {
    "expired": lambda p: p.token(iat=int(time.time()) - 400, nbf=int(time.time()) - 400, exp=int(time.time()) - 100),
    "not yet valid": lambda p: p.token(nbf=int(time.time()) + 300, exp=int(time.time()) + 600),
    "issued in the future": lambda p: p.token(iat=int(time.time()) + 300, exp=int(time.time()) + 600),
    "wrong issuer": lambda p: p.token(iss="https://evil.example/realms/zhongshi"),
    "wrong audience": lambda p: p.token(aud="another-api"),
    "no audience": lambda p: p.token(aud=None),
    "no expiry": lambda p: p.token(exp=None),
    "lives too long": lambda p: p.token(exp=int(time.time()) + 7200),
    "unknown key": _signed_by_a_dropped_key,
    "alg none": lambda p: _unsigned({"iss": ISSUER, "aud": "zhongshi", "sub": "x", "exp": int(time.time()) + 60,
                                     "iat": int(time.time()), "realm_access": {"roles": ["operator"]},
                                     "organisation": "*"}),
    "no zhongshi role": lambda p: p.token(realm_access={"roles": ["offline_access"]}),
    "two zhongshi roles": lambda p: p.token(realm_access={"roles": ["applicant", "province_official"]}),
    "role only in scope": lambda p: p.token(realm_access=None, scope="province_official"),
    "no organisation": lambda p: p.token(organisation=None),
    "two organisations": lambda p: p.token(organisation=["420100", "420111"]),
    "tampered": lambda p: p.token()[:-6] + ("AAAAAA" if not p.token().endswith("AAAAAA") else "BBBBBB"),
}


@pytest.mark.parametrize("case", REFUSED)
async def test_invalid_tokens_are_refused(provider: Provider, case: str) -> None:
    token = REFUSED[case](provider)
    with pytest.raises(jwt.PyJWTError):
        await authenticator(provider).verify(token)


async def test_an_hmac_token_keyed_with_the_public_key_is_refused(provider: Provider) -> None:
    """The classic algorithm confusion: HS256 with the RSA public key as the shared secret."""
    public = jwt.algorithms.RSAAlgorithm.to_jwk(provider.keys["k1"].public_key()).encode()
    claims = {"iss": ISSUER, "aud": "zhongshi", "sub": "x", "exp": int(time.time()) + 60, "iat": int(time.time()),
              "realm_access": {"roles": ["operator"]}, "organisation": "*"}
    signing_input = f"{_b64({'alg': 'HS256', 'kid': 'k1'})}.{_b64(claims)}"
    signature = base64.urlsafe_b64encode(hmac.new(public, signing_input.encode(), hashlib.sha256).digest())
    forged = f"{signing_input}.{signature.rstrip(b'=').decode()}"
    with pytest.raises(jwt.InvalidAlgorithmError):
        await authenticator(provider).verify(forged)


async def test_a_small_clock_skew_is_allowed(provider: Provider) -> None:
    now = int(time.time())
    skewed = provider.token(iat=now + 10, nbf=now + 10, exp=now + 300)
    assert (await authenticator(provider).verify(skewed)).role is Role.APPLICANT
    with pytest.raises(jwt.PyJWTError):
        await authenticator(provider, leeway_s=0).verify(skewed)


async def test_claim_mappings_for_a_generic_provider(provider: Provider) -> None:
    mapping = ClaimMapping(role_claim="groups", role_prefix="zs-", organisation_claim="org.code",
                           name_claim="display_name")
    token = provider.token(realm_access=None, groups=["staff", "zs-city_official"], org={"code": "420100"},
                           display_name="刘敏")
    principal = await authenticator(provider, claims=mapping).verify(token)
    assert (principal.role, principal.organisation, principal.name) == (Role.CITY_OFFICIAL, "420100", "刘敏")
    mapped = ClaimMapping(role_claim="role", role_map={"ZS_EXPERT": "expert"})
    assert (await authenticator(provider, claims=mapped).verify(provider.token(role="ZS_EXPERT"))).role is Role.EXPERT


async def test_discovery_naming_another_issuer_is_not_trusted(provider: Provider) -> None:
    def lying(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json={"issuer": "https://evil.example", "jwks_uri": ISSUER + "/certs"})
        return provider.handle(request)

    keys = KeySet(issuer=ISSUER, transport=httpx.MockTransport(lying))
    with pytest.raises(jwt.PyJWTError):
        await Authenticator(issuer=ISSUER, audience="zhongshi", keys=keys).verify(provider.token())


async def test_a_new_key_is_accepted_at_once_and_a_removed_key_within_the_refresh_interval(provider: Provider) -> None:
    clock = Clock()
    auth = authenticator(provider, clock)
    old = provider.token("k1")
    assert (await auth.verify(old)).subject == "f3c1-user"
    provider.add("k2")  # rotation: the provider signs with a new key
    clock.now += 6  # past the unknown-kid rate limit, well within the refresh interval
    assert (await auth.verify(provider.token("k2"))).subject == "f3c1-user"
    del provider.keys["k1"]  # the old key is withdrawn
    assert (await auth.verify(old)).subject == "f3c1-user"  # still cached ...
    clock.now += 60
    with pytest.raises(jwt.InvalidKeyError):  # ... but not beyond the refresh interval
        await auth.verify(old)


async def test_unknown_key_ids_refresh_at_most_once_per_interval(provider: Provider) -> None:
    clock = Clock()
    auth = authenticator(provider, clock)
    await auth.verify(provider.token())
    provider.add("rogue")
    clock.now += 6
    for _ in range(20):
        with pytest.raises(jwt.InvalidKeyError):
            await auth.verify(provider.token("rogue", headers={"kid": f"forged-{_}"}))
        clock.now += 0.1
    assert provider.jwks_reads == 2  # the first read, then one refresh for all twenty unknown kids


async def test_an_unreachable_provider_keeps_the_keys_last_read(provider: Provider) -> None:
    clock = Clock()
    up = True

    def flaky(request: httpx.Request) -> httpx.Response:
        if not up:
            raise httpx.ConnectError("down")
        return provider.handle(request)

    keys = KeySet(issuer=ISSUER, refresh_s=60, min_refresh_s=5, transport=httpx.MockTransport(flaky), clock=clock)
    auth = Authenticator(issuer=ISSUER, audience="zhongshi", keys=keys)
    await auth.verify(provider.token())
    up = False
    clock.now += 120
    assert (await auth.verify(provider.token())).role is Role.APPLICANT
