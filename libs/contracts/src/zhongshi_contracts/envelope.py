"""CloudEvents 1.0 Kafka binary-mode headers (docs/integration.md, "Envelope")."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zhongshi_contracts.topics import Topic

SPEC_VERSION: Literal["1.0"] = "1.0"
CONTENT_TYPE = "application/json"


def free_of_control_and_format(value: str) -> bool:
    """No control (Cc) or format (Cf) character. ASCII has no format characters and `str.isprintable` is false for
    exactly its control characters, so the usual all-ASCII attribute is decided in C: a replay checks four per
    record, a hundred thousand records a run."""
    if value.isascii():
        return value.isprintable()
    return not any(unicodedata.category(c) in ("Cc", "Cf") for c in value)


class CloudEvent(BaseModel):
    """The CloudEvents attributes carried as ``ce_*`` headers; the value is the event model as JSON."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=200, description="Unique event id; subscribers dedupe on it (ce_id).")
    source: str = Field(min_length=1, max_length=200,
                        description="The service that produced the event, e.g. /zhongshi/intake.")
    type: str = Field(min_length=1, max_length=200, description="cn.gov.hubei.pilot.<aggregate>.<event>.v<N>")
    subject: str = Field(min_length=1, max_length=200,
                         description="The aggregate id: the application id (platform id later).")
    time: datetime = Field(description="When the event happened (RFC 3339; a time without offset is read as UTC).")
    specversion: Literal["1.0"] = SPEC_VERSION

    @field_validator("id", "source", "type", "subject")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not free_of_control_and_format(value):
            raise ValueError("control or format characters in a CloudEvents attribute")
        return value

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        """A producer that left the offset out meant UTC (ours always write it): never a naive time inside."""
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    def headers(self) -> dict[str, str]:
        """Kafka headers in CloudEvents binary mode."""
        return {
            "ce_id": self.id,
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_specversion": self.specversion,
            "ce_time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "ce_subject": self.subject,
            "content-type": CONTENT_TYPE,
        }

    @classmethod
    def new(cls, topic: Topic, *, source: str, subject: str, at: datetime | None = None,
            version: int = 1) -> CloudEvent:
        return cls(
            id=str(uuid.uuid4()),
            source=source,
            type=topic.ce_type(version),
            subject=subject,
            time=at or datetime.now(UTC),
        )

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> CloudEvent:
        """Parse binary-mode headers; raises pydantic.ValidationError naming a missing attribute."""
        return cls.model_validate(
            {
                "id": headers.get("ce_id"),
                "source": headers.get("ce_source"),
                "type": headers.get("ce_type"),
                "subject": headers.get("ce_subject"),
                "time": headers.get("ce_time"),
                "specversion": headers.get("ce_specversion", SPEC_VERSION),
            }
        )


def headers_schema() -> dict[str, object]:
    """JSON Schema of the binary-mode headers, for the AsyncAPI documents (FastStream leaves them out)."""
    return {
        "type": "object",
        "description": "CloudEvents 1.0 Kafka binary mode: attributes are ce_* headers; key = the aggregate id.",
        "required": [f"ce_{name}" for name in CloudEvent.model_fields] + ["content-type"],
        "properties": {
            **{f"ce_{name}": {"type": "string", "description": field.description or name}
               for name, field in CloudEvent.model_fields.items()},
            "content-type": {"type": "string", "const": CONTENT_TYPE},
        },
    }
