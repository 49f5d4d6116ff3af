from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from zhongshi_runtime.settings import ServiceSettings


class ScreeningSettings(ServiceSettings):
    service_name: ClassVar[str] = "screening"
    port: int = Field(8002, validation_alias="SCREENING_PORT")
    database: str = Field("zhongshi_screening", validation_alias="SCREENING_MONGODB_DATABASE")
