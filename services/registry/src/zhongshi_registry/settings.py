from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from zhongshi_runtime.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service_name: ClassVar[str] = "registry"
    port: int = Field(8004, validation_alias="REGISTRY_PORT")
    database: str = Field("zhongshi_registry", validation_alias="REGISTRY_MONGODB_DATABASE")
