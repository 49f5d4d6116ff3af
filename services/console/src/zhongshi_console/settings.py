"""Console settings: where the five services and the OpenID provider are, and the session's lifetime."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field, model_validator
from zhongshi_runtime.settings import PLACEHOLDERS, ServiceSettings

SERVICES = ("intake", "screening", "review", "registry", "notify")


class ConsoleSettings(ServiceSettings):
    service_name: ClassVar[str] = "console"
    port: int = Field(8000, validation_alias="CONSOLE_PORT")
    intake_url: str = Field("http://127.0.0.1:8001", validation_alias="CONSOLE_INTAKE_URL")
    screening_url: str = Field("http://127.0.0.1:8002", validation_alias="CONSOLE_SCREENING_URL")
    review_url: str = Field("http://127.0.0.1:8003", validation_alias="CONSOLE_REVIEW_URL")
    registry_url: str = Field("http://127.0.0.1:8004", validation_alias="CONSOLE_REGISTRY_URL")
    notify_url: str = Field("http://127.0.0.1:8005", validation_alias="CONSOLE_NOTIFY_URL")
    oidc_issuer: str = Field("", validation_alias="CONSOLE_OIDC_ISSUER",
                             description="The OpenID provider's issuer URL; discovery is read from it.")
    oidc_client_id: str = Field("zhongshi-console", validation_alias="CONSOLE_OIDC_CLIENT_ID")
    oidc_client_secret: str = Field("", validation_alias="CONSOLE_OIDC_CLIENT_SECRET")
    oidc_scope: str = Field("openid profile", validation_alias="CONSOLE_OIDC_SCOPE")
    public_url: str = Field("", validation_alias="CONSOLE_PUBLIC_URL",
                            description="The console's external URL (redirect URI base); default: the request's.")
    session_idle_s: int = Field(8 * 3600, ge=60, validation_alias="CONSOLE_SESSION_IDLE_S",
                                description="A session unused this long is forgotten: the next page asks to log in.")
    session_max: int = Field(10_000, ge=10, validation_alias="CONSOLE_SESSION_MAX",
                             description="Sessions kept at most; the least recently used go first.")
    backend_timeout_s: float = Field(10.0, gt=0, validation_alias="CONSOLE_BACKEND_TIMEOUT_S")
    trust_forwarded_for: bool = Field(False, validation_alias="CONSOLE_TRUST_FORWARDED_FOR",
                                      description="Take the browser's address from X-Forwarded-For (behind the "
                                      "gateway); passed on with the public objection calls, which notify and the "
                                      "registry limit per address.")

    def service_url(self, name: str) -> str:
        return str(getattr(self, f"{name}_url")).rstrip("/")

    @model_validator(mode="after")
    def _real_client_secret_outside_development(self) -> Self:
        if self.environment == "development":
            return self
        if not self.oidc_issuer:
            raise ValueError("CONSOLE_OIDC_ISSUER is required outside development")
        secret = self.oidc_client_secret.lower()
        if not secret or any(p in secret for p in PLACEHOLDERS):
            raise ValueError("CONSOLE_OIDC_CLIENT_SECRET must be the client's real secret outside development")
        return self
