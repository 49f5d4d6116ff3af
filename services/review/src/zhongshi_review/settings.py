from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from zhongshi_runtime.settings import ServiceSettings


class ReviewSettings(ServiceSettings):
    service_name: ClassVar[str] = "review"
    port: int = Field(8003, validation_alias="REVIEW_PORT")
    database: str = Field("zhongshi_review", validation_alias="REVIEW_MONGODB_DATABASE")
