"""Settings shared by every service; each service adds its own prefixed fields (INTAKE_PORT, ...)."""

from __future__ import annotations

from typing import ClassVar, Literal, Self
from urllib.parse import parse_qs, urlsplit

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from zhongshi_runtime.kafka_client import KafkaClientSettings

DEV_ISSUER = "http://127.0.0.1:8010"  # the embedded provider `zhongshi up` starts (src/zhongshi/idp)
PLACEHOLDERS = ("changeme", "change-me", "placeholder", "secret", "xxx", "todo")


class ServiceSettings(KafkaClientSettings):
    """Configuration read from the environment; see the README's configuration table."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore")

    service_name: ClassVar[str] = "service"

    environment: Literal["development", "test", "production"] = Field(
        "production", validation_alias="ZHONGSHI_ENV",
        description="Unset means production: the dev clock, minted keys and placeholders need `development`.",
    )
    # KAFKA_BOOTSTRAP_SERVERS and the Kafka security settings: zhongshi_runtime.kafka_client.
    # The embedded broker sleeps a fetch's whole wait when it has nothing new: 100 ms adds ~50 ms per hop, and an
    # idle stack's polling costs a third of a core (0.8 at 20 ms). Kafka wakes on new records: 500 there.
    kafka_fetch_max_wait_ms: int = Field(100, ge=1, le=5000, validation_alias="KAFKA_FETCH_MAX_WAIT_MS")
    # How long the group waits for a silent member before handing its partitions on. The embedded broker also
    # holds every JoinGroup for half of it (5 s at Kafka's 10 s default, on each start and restart): the embedded
    # launcher sets 4 s there. Kafka refuses less than its group.min.session.timeout.ms (6 s by default).
    kafka_session_timeout_ms: int = Field(10_000, ge=1000, le=300_000, validation_alias="KAFKA_SESSION_TIMEOUT_MS")
    mongodb_uri: str = Field(
        "mongodb://127.0.0.1:27017/?directConnection=true", validation_alias="MONGODB_URI"
    )
    plugins: str = Field("", validation_alias="ZHONGSHI_PLUGINS",
                         description="Plug-ins to install, module:factory, comma-separated (zhongshi_runtime.plugins).")
    # Identity: see docs/security.md. The default issuer is the embedded development provider.
    auth_issuer: str = Field(DEV_ISSUER, validation_alias="AUTH_ISSUER")
    auth_audience: str = Field("zhongshi", validation_alias="AUTH_AUDIENCE")
    auth_jwks_url: str = Field("", validation_alias="AUTH_JWKS_URL", description="Default: from discovery.")
    auth_jwks_file: str = Field("", validation_alias="AUTH_JWKS_FILE", description="Keys from a file (offline).")
    auth_role_claim: str = Field("realm_access.roles", validation_alias="AUTH_ROLE_CLAIM")
    auth_role_prefix: str = Field("", validation_alias="AUTH_ROLE_PREFIX")
    auth_role_map: dict[str, str] = Field(default_factory=dict, validation_alias="AUTH_ROLE_MAP")
    auth_organisation_claim: str = Field("organisation", validation_alias="AUTH_ORGANISATION_CLAIM")
    auth_name_claim: str = Field("name", validation_alias="AUTH_NAME_CLAIM")
    auth_leeway_s: float = Field(30, ge=0, le=300, validation_alias="AUTH_LEEWAY_S")
    auth_max_token_lifetime_s: float = Field(3600, gt=0, validation_alias="AUTH_MAX_TOKEN_LIFETIME_S")
    auth_jwks_refresh_s: float = Field(300, gt=0, validation_alias="AUTH_JWKS_REFRESH_S")
    auth_jwks_min_refresh_s: float = Field(10, ge=0, validation_alias="AUTH_JWKS_MIN_REFRESH_S")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    http_host: str = Field("127.0.0.1", validation_alias="HTTP_HOST")
    outbox_retention_hours: int = Field(168, ge=1, validation_alias="OUTBOX_RETENTION_HOURS")
    consumer_concurrency: int = Field(
        4, ge=1, le=64, validation_alias="CONSUMER_CONCURRENCY",
        description="Lanes handled at once: above 1 the consumer fetches batches and handles distinct keys "
                    "(applications) concurrently, each key in order; offsets are committed after the whole batch.")
    consumer_batch: int = Field(200, ge=1, le=5000, validation_alias="CONSUMER_BATCH",
                                description="Most records in one fetched batch (with CONSUMER_CONCURRENCY > 1).")
    consumer_events_per_transaction: int = Field(
        50, ge=1, le=1000, validation_alias="CONSUMER_EVENTS_PER_TRANSACTION",
        description="With CONSUMER_CONCURRENCY > 1: about this many events of a batch handled in one transaction, "
                    "whole lanes together (those that cannot be are handled one by one).")
    # Retention (docs/retention.md). Processed-event ids outlive any redelivery: the outbox's replay window and
    # a dead letter's redrive, which reaches every group again with the original id.
    processed_event_retention_days: int = Field(400, ge=30, validation_alias="PROCESSED_EVENT_RETENTION_DAYS")
    dead_letter_retention_days: int = Field(90, ge=1, validation_alias="DEAD_LETTER_RETENTION_DAYS",
                                            description="Redriven dead letters (with their bodies) kept this long.")
    retention_interval_s: float = Field(3600, gt=0, validation_alias="RETENTION_INTERVAL_S")
    handler_max_attempts: int = Field(3, ge=1, le=20, validation_alias="HANDLER_MAX_ATTEMPTS")
    handler_retry_backoff_s: float = Field(0.2, ge=0, validation_alias="HANDLER_RETRY_BACKOFF_S")
    # A database or network outage is waited out before anything is dead-lettered; the consumer holds its
    # partitions meanwhile, so keep this under the consumer's max.poll.interval.ms (300 s).
    handler_transient_retry_s: float = Field(240, ge=0, le=290, validation_alias="HANDLER_TRANSIENT_RETRY_S")
    dlq_gauge_interval_s: float = Field(15, gt=0, validation_alias="DLQ_GAUGE_INTERVAL_S")
    handler_transient_backoff_max_s: float = Field(30, gt=0, validation_alias="HANDLER_TRANSIENT_BACKOFF_MAX_S")
    http_max_body_bytes: int = Field(
        1024 * 1024, ge=1024, validation_alias="HTTP_MAX_BODY_BYTES",
        description="Largest request body accepted (413 beyond); a route may set its own (the expert import).",
    )

    # Each service overrides these two with its own prefixed environment variable.
    port: int = 8000
    database: str = "zhongshi"

    @model_validator(mode="after")
    def _no_placeholders_outside_development(self) -> Self:
        if self.environment == "development":
            return self
        if self.auth_issuer == DEV_ISSUER:
            raise ValueError("AUTH_ISSUER must name the real token issuer outside development")
        lowered = self.mongodb_uri.lower()
        if any(p in lowered for p in PLACEHOLDERS):
            raise ValueError("MONGODB_URI still holds a placeholder secret")
        if self.environment == "production" and (problem := database_problem(self.mongodb_uri)):
            raise ValueError(f"MONGODB_URI {problem} in production")
        return self


def database_problem(uri: str) -> str | None:
    """What a production database connection lacks: credentials (user or X.509) and TLS."""
    parts = urlsplit(uri)
    query = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
    srv = parts.scheme == "mongodb+srv"  # SRV connections use TLS unless told otherwise
    tls = query.get("tls", query.get("ssl", "true" if srv else "false")) == "true"
    x509 = query.get("authmechanism") == "mongodb-x509"
    if "@" not in parts.netloc and not x509:
        return "has no credentials (user:password@ or authMechanism=MONGODB-X509)"
    if not tls:
        return "does not use TLS (tls=true, or mongodb+srv://)"
    return None
