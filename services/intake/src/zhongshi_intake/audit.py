"""Download records. Stands in for the shared audit module until it lands: one function, one collection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from zhongshi_runtime.auth import Principal


async def record_download(db: AsyncDatabase[Any], principal: Principal, *, application_id: str, material_id: str,
                          at: datetime) -> None:
    """Record who downloaded what, when; written before the bytes are sent, so no download goes unrecorded."""
    await db.audit.insert_one({
        "action": "material.download", "at": at, "application_id": application_id, "material_id": material_id,
        "actor": {"subject": principal.subject, "role": principal.role.value,
                  "organisation": principal.organisation},
    })
