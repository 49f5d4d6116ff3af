from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from pydantic import Field
from zhongshi_runtime.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service_name: ClassVar[str] = "registry"
    port: int = Field(8004, validation_alias="REGISTRY_PORT")
    database: str = Field("zhongshi_registry", validation_alias="REGISTRY_MONGODB_DATABASE")
    objector_retention_days: int = Field(
        365, ge=1, validation_alias="REGISTRY_OBJECTOR_RETENTION_DAYS",
        description="An objector's name and contact are blanked this long after the objection was resolved.")
    publicity_working_days: int = Field(5, ge=1, le=60, validation_alias="REGISTRY_PUBLICITY_WORKING_DAYS")
    certificate_format: str = Field("鄂中试〔{year}〕{seq:03d}号", validation_alias="REGISTRY_CERTIFICATE_FORMAT",
                                    description="Default format; {year} = accreditation year, {seq} = sequence.")
    certificate_formats: dict[str, str] = Field(default_factory=dict,
                                                validation_alias="REGISTRY_CERTIFICATE_FORMATS",
                                                description="Round id → format, overriding the default (JSON).")
    certificate_key_file: str = Field("var/registry/certificate-ed25519.pem",
                                      validation_alias="REGISTRY_CERTIFICATE_KEY_FILE")
    certificate_retired_keys_dir: str = Field(
        "var/registry/retired-keys", validation_alias="REGISTRY_CERTIFICATE_RETIRED_KEYS_DIR",
        description="Public keys (*.pem) of rotated-out signing keys: still published, still verifying.")
    public_base_url: str = Field("", validation_alias="REGISTRY_PUBLIC_BASE_URL",
                                 description="Base of the public verification URL in certificate QR codes "
                                             "(default: the URL the request came in on).")
    threshold_equipment_value: Decimal = Field(Decimal(10_000_000), validation_alias="REGISTRY_THRESHOLD_EQUIPMENT")
    threshold_staff: int = Field(10, validation_alias="REGISTRY_THRESHOLD_STAFF")
    threshold_service_revenue: Decimal = Field(Decimal(5_000_000), validation_alias="REGISTRY_THRESHOLD_REVENUE")
    threshold_technology_transfers: int = Field(3, validation_alias="REGISTRY_THRESHOLD_TRANSFERS")
    public_max_age_s: int = Field(
        5, ge=0, le=3600, validation_alias="REGISTRY_PUBLIC_MAX_AGE_S",
        description="Cache-Control max-age of the public list, detail and statistics (0: revalidate every time).")
    public_cache_keep_s: float = Field(
        5.0, gt=0, le=300, validation_alias="REGISTRY_PUBLIC_CACHE_KEEP_S",
        description="How long a replica serves a public response from memory: the most it lags behind a change "
        "another replica made (the replica that made it drops its cache at once). Past half of it a requested "
        "response is read again in the background.")

    contact_proof_public_key_file: str = Field(
        "var/notify/contact-proof-ed25519.pub", validation_alias="REGISTRY_CONTACT_PROOF_PUBLIC_KEY_FILE",
        description="Notify's public key for the proofs of a verified phone or e-mail (objections).")
    objections_per_client_hour: int = Field(20, ge=1, validation_alias="REGISTRY_OBJECTIONS_PER_CLIENT_HOUR",
                                            description="Objection attempts one client address may make per hour.")
    objections_per_round_hour: int = Field(300, ge=1, validation_alias="REGISTRY_OBJECTIONS_PER_ROUND_HOUR",
                                           description="Objections one round accepts per hour, from everyone.")
    objections_pending_per_objector: int = Field(
        5, ge=1, validation_alias="REGISTRY_OBJECTIONS_PENDING_PER_OBJECTOR",
        description="Unresolved objections one person or contact may have in a round.")
    trust_forwarded_for: bool = Field(False, validation_alias="REGISTRY_TRUST_FORWARDED_FOR",
                                      description="Take the client address from X-Forwarded-For (behind a proxy).")

    def format_for(self, round_id: str) -> str:
        return self.certificate_formats.get(round_id, self.certificate_format)
