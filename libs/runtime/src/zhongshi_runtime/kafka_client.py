"""How every Kafka client of zhongshi connects: TLS (a CA, optionally a client certificate) and SASL
SCRAM-SHA-512, read from the environment. Services, the outbox relay, the replay reader and the topic admin
all take their connection from here, so a secured cluster needs no change in code (docs/operations.md)."""

from __future__ import annotations

import ssl
from typing import Any, Literal, Self

from aiokafka.helpers import create_ssl_context
from faststream.security import BaseSecurity, SASLScram256, SASLScram512
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Protocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]


class KafkaClientSettings(BaseSettings):
    """The broker address and its security; a service's settings inherit these fields."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore")

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    kafka_security_protocol: Protocol = Field("PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL")
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = Field(
        "SCRAM-SHA-512", validation_alias="KAFKA_SASL_MECHANISM")
    kafka_sasl_username: str = Field("", validation_alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr = Field(SecretStr(""), validation_alias="KAFKA_SASL_PASSWORD")
    kafka_ssl_cafile: str = Field("", validation_alias="KAFKA_SSL_CAFILE",
                                  description="PEM file of the CA that signed the brokers' certificates.")
    kafka_ssl_certfile: str = Field("", validation_alias="KAFKA_SSL_CERTFILE",
                                    description="PEM client certificate, when the brokers require mutual TLS.")
    kafka_ssl_keyfile: str = Field("", validation_alias="KAFKA_SSL_KEYFILE")
    kafka_enable_idempotence: bool | None = Field(
        None, validation_alias="KAFKA_ENABLE_IDEMPOTENCE",
        description="Unset: on (a plug-in may turn it off for a broker without it).",
    )

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.sasl and not (self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()):
            raise ValueError(f"{self.kafka_security_protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        if bool(self.kafka_ssl_certfile) != bool(self.kafka_ssl_keyfile):
            raise ValueError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together")
        return self

    @property
    def sasl(self) -> bool:
        return self.kafka_security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    def idempotent_producer(self) -> bool:
        """Exactly-once per partition from the producer unless turned off (a broker without the feature)."""
        return self.kafka_enable_idempotence is not False

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context (reads the CA and certificate files), or None without TLS."""
        if not self.tls:
            return None
        context: ssl.SSLContext = create_ssl_context(
            cafile=self.kafka_ssl_cafile or None, certfile=self.kafka_ssl_certfile or None,
            keyfile=self.kafka_ssl_keyfile or None)
        return context

    def faststream_security(self) -> BaseSecurity | None:
        """The `security` argument of FastStream's KafkaBroker."""
        context = self.ssl_context()
        if self.sasl:
            scram = SASLScram512 if self.kafka_sasl_mechanism == "SCRAM-SHA-512" else SASLScram256
            return scram(self.kafka_sasl_username, self.kafka_sasl_password.get_secret_value(),
                         ssl_context=context, use_ssl=self.tls)
        return BaseSecurity(ssl_context=context, use_ssl=True) if self.tls else None

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's consumers, producers and admin client."""
        options: dict[str, Any] = {"bootstrap_servers": self.kafka_bootstrap_servers,
                                   "security_protocol": self.kafka_security_protocol}
        if self.tls:
            options["ssl_context"] = self.ssl_context()
        if self.sasl:
            options |= {"sasl_mechanism": self.kafka_sasl_mechanism,
                        "sasl_plain_username": self.kafka_sasl_username,
                        "sasl_plain_password": self.kafka_sasl_password.get_secret_value()}
        return options

    def at(self, bootstrap_servers: str) -> KafkaClientSettings:
        """The same security towards another address (the embedded launcher picks its broker's port)."""
        return self.model_copy(update={"kafka_bootstrap_servers": bootstrap_servers})
