"""Exports for officials (province; a city official sees its own city): CSV and XLSX with Chinese headers."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Response, status
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.errors import errors

from zhongshi_registry import domain, exports
from zhongshi_registry.exports import Table
from zhongshi_registry.repository import RegistryRepository

Official = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL, Role.CITY_OFFICIAL))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE: dict[int | str, dict[str, Any]] = {200: {"description": "CSV (UTF-8) or XLSX, by the path's extension",
              "content": {"text/csv": {"schema": {"type": "string"}},
                          XLSX: {"schema": {"type": "string", "format": "binary"}}}}}


def rendered(table: Table, fmt: str, name: str) -> Response:
    if fmt == "csv":
        body, media = exports.csv_bytes(table), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        body, media = exports.xlsx_bytes(table, name), XLSX
    else:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"不支持的导出格式 {fmt}（csv 或 xlsx）")
    return Response(body, media_type=media, headers={"Content-Disposition": disposition(f"{name}.{fmt}")})


def disposition(filename: str) -> str:
    """An attachment header any id fits in (RFC 6266): an ASCII fallback and the UTF-8 name."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def router(repo: RegistryRepository) -> APIRouter:
    api = APIRouter(prefix="/api/v1/exports", tags=["exports"])

    @api.get("/platforms.{fmt}", summary="The published list (registry entries)", response_class=Response,
             responses={**FILE, **errors(404)})
    async def platforms(fmt: str, caller: Official) -> Response:
        entries = [e for e in await repo.entries.find() if caller.covers_city(e.city_code)]
        return rendered(exports.platforms_table(entries), fmt, "platforms")

    @api.get("/rounds/{round_id}/results.{fmt}", summary="A round's review results and final decisions",
             response_class=Response, responses={**FILE, **errors(404)})
    async def results(round_id: str, fmt: str, caller: Official) -> Response:
        decisions = [d for d in await repo.decisions.find(round_id=round_id) if caller.covers_city(d.city_code)]
        publicity = await repo.publicity.get(round_id)
        objections = await repo.objections.find(round_id=round_id)
        closed = publicity is not None and publicity.closed_at is not None
        finals = domain.outcome(publicity, objections) if publicity is not None and closed else []
        return rendered(exports.results_table(decisions, finals), fmt, f"results-{round_id}")

    @api.get("/annual-reports/{year}.{fmt}", summary="The year's annual-report summary", response_class=Response,
             responses={**FILE, **errors(404)})
    async def reports(year: int, fmt: str, caller: Official) -> Response:
        cities = {e.id: e.city_code for e in await repo.entries.find()}
        found = [r for r in await repo.reports.find(year=year) if caller.covers_city(cities.get(r.platform_id, ""))]
        return rendered(exports.reports_table(found), fmt, f"annual-reports-{year}")

    return api
