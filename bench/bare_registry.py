"""P3's baseline: a bare FastAPI app doing the public list's and the detail's queries on the registry's own
database — the same filter, sort, page and count; the published fields by projection — with no service kit,
no pydantic models and no view code. ``python -m bench.bare_registry PORT MONGODB_URI`` serves it with uvicorn,
configured as our services are (`zhongshi_runtime.serve`)."""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

FIELDS = ("id", "kind", "status", "round_id", "platform_name", "applicant_name", "applicant_credit_code",
          "region_code", "city_code", "platform_type", "clusters", "service_kinds", "listed_on", "certificate_no",
          "accredited_on", "previous_entry_id", "next_entry_id", "history")
PROJECTION = dict.fromkeys(FIELDS, 1)


def create_app(mongodb_uri: str, database: str = "zhongshi_registry") -> FastAPI:
    app = FastAPI()
    entries: AsyncCollection[dict[str, Any]] = AsyncMongoClient(mongodb_uri, tz_aware=True)[database].entries

    @app.get("/platforms")
    async def platforms(city: str | None = None, county: str | None = None, cluster: str | None = None,
                        status: str | None = None, offset: int = 0, limit: int = 20) -> dict[str, Any]:
        query = {k: v for k, v in (("city_code", city), ("region_code", county), ("clusters", cluster),
                                   ("status", status)) if v is not None}
        total = await entries.count_documents(query)
        cursor = entries.find(query, PROJECTION).sort("_id", ASCENDING).skip(offset).limit(limit)
        return {"total": total, "offset": offset, "limit": limit, "items": await cursor.to_list()}

    @app.get("/platforms/{platform_id}")
    async def platform(platform_id: str) -> dict[str, Any]:
        found = await entries.find_one({"_id": platform_id}, PROJECTION)
        if found is None:
            raise HTTPException(404)
        return dict(found)

    return app


if __name__ == "__main__":
    uvicorn.run(create_app(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), log_config=None,
                access_log=False)
