"""Running without ZHONGSHI_ENV is production: development is chosen explicitly, and production refuses to
start without database credentials and TLS (issue 18, item 16)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from zhongshi_runtime.settings import ServiceSettings

REAL_AUTH = {"AUTH_ISSUER": "https://id.hubei.gov.cn", "AUTH_JWKS_URL": "https://id.hubei.gov.cn/jwks"}


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment with none of the project's variables set (as a forgotten deployment would be)."""
    for name in ("ZHONGSHI_ENV", "MONGODB_URI", "AUTH_ISSUER", "AUTH_JWKS_URL", "AUTH_JWKS_FILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_without_zhongshi_env_the_defaults_are_refused_as_production(bare: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match=r"AUTH_ISSUER|MONGODB_URI"):
        ServiceSettings()


def test_development_is_chosen_explicitly(bare: pytest.MonkeyPatch) -> None:
    bare.setenv("ZHONGSHI_ENV", "development")
    assert ServiceSettings().environment == "development"


@pytest.mark.parametrize(("uri", "missing"), [
    ("mongodb://mongo-0:27017/?replicaSet=rs0&tls=true", "credentials"),
    ("mongodb://zhongshi:s3cr3t-from-vault@mongo-0:27017/?replicaSet=rs0", "TLS"),
    ("mongodb://zhongshi:s3cr3t-from-vault@mongo-0:27017/?replicaSet=rs0&tls=false", "TLS"),
])
def test_production_refuses_a_database_without_credentials_or_tls(bare: pytest.MonkeyPatch, uri: str,
                                                                  missing: str) -> None:
    for name, value in {**REAL_AUTH, "ZHONGSHI_ENV": "production", "MONGODB_URI": uri}.items():
        bare.setenv(name, value)
    with pytest.raises(ValidationError, match=f"MONGODB_URI.*{missing}"):
        ServiceSettings()


@pytest.mark.parametrize("uri", [
    "mongodb://zhongshi:s3cr3t-from-vault@mongo-0:27017/?replicaSet=rs0&tls=true",
    "mongodb+srv://zhongshi:s3cr3t-from-vault@cluster.example.gov.cn/",  # SRV implies TLS
    "mongodb://mongo-0:27017/?tls=true&authMechanism=MONGODB-X509&tlsCertificateKeyFile=/etc/zhongshi/db.pem",
])
def test_production_starts_with_credentials_and_tls(bare: pytest.MonkeyPatch, uri: str) -> None:
    for name, value in {**REAL_AUTH, "ZHONGSHI_ENV": "production", "MONGODB_URI": uri}.items():
        bare.setenv(name, value)
    assert ServiceSettings().environment == "production"
