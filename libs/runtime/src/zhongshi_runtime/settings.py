"""Settings shared by every service; each service adds its own prefixed fields (INTAKE_PORT, ...)."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDERS = ("changeme", "change-me", "placeholder", "secret", "xxx", "todo")


class ServiceSettings(BaseSettings):
    """Configuration read from the environment; see the README's configuration table."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore")

    service_name: ClassVar[str] = "service"

    environment: Literal["development", "test", "production"] = Field(
        "development", validation_alias="ZHONGSHI_ENV"
    )
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    # The embedded broker sleeps a fetch's whole wait when it has nothing new: 100 ms adds ~50 ms per hop, and an
    # idle stack's polling costs a third of a core (0.8 at 20 ms). Kafka wakes on new records: 500 there.
    kafka_fetch_max_wait_ms: int = Field(100, ge=1, le=5000, validation_alias="KAFKA_FETCH_MAX_WAIT_MS")
    mongodb_uri: str = Field(
        "mongodb://127.0.0.1:27017/?directConnection=true", validation_alias="MONGODB_URI"
    )
    broker_epoch: str = Field(
        "",
        validation_alias="ZHONGSHI_BROKER_EPOCH",
        description="Set by the embedded launcher per broker start: a new epoch replays the outbox.",
    )
    auth_issuer: str = Field("zhongshi-dev", validation_alias="AUTH_ISSUER")
    auth_audience: str = Field("zhongshi", validation_alias="AUTH_AUDIENCE")
    auth_jwks_file: str = Field("var/auth/jwks.json", validation_alias="AUTH_JWKS_FILE")
    auth_jwks_url: str = Field("", validation_alias="AUTH_JWKS_URL")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    http_host: str = Field("127.0.0.1", validation_alias="HTTP_HOST")
    outbox_retention_hours: int = Field(168, ge=1, validation_alias="OUTBOX_RETENTION_HOURS")
    consumer_concurrency: int = Field(
        1, ge=1, le=64, validation_alias="CONSUMER_CONCURRENCY",
        description="Lanes handled at once: above 1 the consumer fetches batches and handles distinct keys "
                    "(applications) concurrently, each key in order; offsets are committed after the whole batch.")
    consumer_batch: int = Field(200, ge=1, le=5000, validation_alias="CONSUMER_BATCH",
                                description="Most records in one fetched batch (with CONSUMER_CONCURRENCY > 1).")
    handler_max_attempts: int = Field(3, ge=1, le=20, validation_alias="HANDLER_MAX_ATTEMPTS")
    handler_retry_backoff_s: float = Field(0.2, ge=0, validation_alias="HANDLER_RETRY_BACKOFF_S")
    faults_file: str = Field("", validation_alias="ZHONGSHI_FAULTS_FILE",
                             description="Test-only: the fault suite's hooks (zhongshi_runtime.faults).")
    http_max_body_bytes: int = Field(
        1024 * 1024, ge=1024, validation_alias="HTTP_MAX_BODY_BYTES",
        description="Largest request body accepted (413 beyond); a route may set its own (the expert import).",
    )

    # Each service overrides these two with its own prefixed environment variable.
    port: int = 8000
    database: str = "zhongshi"

    @model_validator(mode="after")
    def _no_placeholders_outside_development(self) -> Self:
        if self.faults_file and self.environment == "production":
            raise ValueError("ZHONGSHI_FAULTS_FILE injects faults for tests and is refused in production")
        if self.environment == "development":
            return self
        if not (self.auth_jwks_url or self.auth_jwks_file):
            raise ValueError("AUTH_JWKS_URL or AUTH_JWKS_FILE is required outside development")
        if self.auth_issuer == "zhongshi-dev":
            raise ValueError("AUTH_ISSUER must name the real token issuer outside development")
        lowered = self.mongodb_uri.lower()
        if any(p in lowered for p in PLACEHOLDERS):
            raise ValueError("MONGODB_URI still holds a placeholder secret")
        return self
