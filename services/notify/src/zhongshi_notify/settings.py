from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from zhongshi_runtime.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    service_name: ClassVar[str] = "notify"
    port: int = Field(8005, validation_alias="NOTIFY_PORT")
    database: str = Field("zhongshi_notify", validation_alias="NOTIFY_MONGODB_DATABASE")
