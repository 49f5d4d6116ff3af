from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from zhongshi_runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: ClassVar[str] = "intake"
    port: int = Field(8001, validation_alias="INTAKE_PORT")
    database: str = Field("zhongshi_intake", validation_alias="INTAKE_MONGODB_DATABASE")
