from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from zhongshi_runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: ClassVar[str] = "intake"
    port: int = Field(8001, validation_alias="INTAKE_PORT")
    database: str = Field("zhongshi_intake", validation_alias="INTAKE_MONGODB_DATABASE")
    material_max_bytes: int = Field(20 * 1024 * 1024, ge=1024, validation_alias="INTAKE_MATERIAL_MAX_BYTES",
                                    description="Largest material file accepted (422 beyond).")
    application_materials_max_bytes: int = Field(
        200 * 1024 * 1024, ge=1024, validation_alias="INTAKE_APPLICATION_MATERIALS_MAX_BYTES",
        description="Largest total of one application's materials, every version counted (422 beyond).")
    office_max_unpacked_bytes: int = Field(
        100 * 1024 * 1024, ge=1024, validation_alias="INTAKE_OFFICE_MAX_UNPACKED_BYTES",
        description="A docx/xlsx whose parts unpack to more than this is refused as a zip bomb.")
    material_retention_days: int = Field(
        3 * 365, ge=0, validation_alias="INTAKE_MATERIAL_RETENTION_DAYS",
        description="Days after a round closes before unsuccessful applications' materials may be purged.")
