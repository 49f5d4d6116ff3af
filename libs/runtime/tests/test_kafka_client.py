"""Every Kafka client takes TLS and SASL SCRAM-SHA-512 from the environment, and the producer is idempotent
except against the embedded broker."""

from __future__ import annotations

import datetime as dt
import logging
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError
from zhongshi_runtime.kafka_client import KafkaClientSettings
from zhongshi_runtime.messaging import create_broker
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.settings import ServiceSettings


def write_ca(folder: Path) -> Path:
    """A self-signed CA certificate as PEM, standing in for the cluster's CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zhongshi test CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path = folder / "ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def secured(ca: Path, **more: str) -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP_SERVERS": "kafka:9093", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_USERNAME": "zhongshi-intake", "KAFKA_SASL_PASSWORD": "pw-from-a-vault",
            "KAFKA_SSL_CAFILE": str(ca), **more}


def connection(settings: ServiceSettings) -> dict[str, object]:
    broker = create_broker(settings, RuntimeMetrics("intake"), logging.getLogger("test"))
    return dict(broker._connection_kwargs)


def test_plaintext_by_default_and_nothing_secret_is_sent() -> None:
    client = KafkaClientSettings()
    assert client.aiokafka() == {"bootstrap_servers": "127.0.0.1:9092", "security_protocol": "PLAINTEXT"}
    assert client.faststream_security() is None


def test_the_service_broker_connects_with_scram_over_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in secured(write_ca(tmp_path)).items():
        monkeypatch.setenv(name, value)
    kwargs = connection(ServiceSettings())
    assert kwargs["security_protocol"] == "SASL_SSL" and kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("zhongshi-intake", "pw-from-a-vault")
    context = kwargs["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert context.get_ca_certs()[0]["subject"] == ((("commonName", "zhongshi test CA"),),)


def test_the_admin_and_replay_clients_get_the_same_security(tmp_path: Path) -> None:
    client = KafkaClientSettings(**secured(write_ca(tmp_path))).at("other:9093")  # type: ignore[arg-type]
    options = client.aiokafka()
    assert options["bootstrap_servers"] == "other:9093" and options["security_protocol"] == "SASL_SSL"
    assert options["sasl_plain_password"] == "pw-from-a-vault" and isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert "pw-from-a-vault" not in repr(client)  # a logged settings object shows no secret


def test_sasl_without_credentials_or_a_certificate_without_its_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        KafkaClientSettings(KAFKA_SECURITY_PROTOCOL="SASL_SSL")
    with pytest.raises(ValidationError, match="KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE"):
        KafkaClientSettings(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CERTFILE="c.pem")


def test_the_producer_is_idempotent_unless_turned_off() -> None:
    assert connection(ServiceSettings())["enable_idempotence"] is True
    off = ServiceSettings(KAFKA_ENABLE_IDEMPOTENCE="false")
    assert connection(off)["enable_idempotence"] is False
