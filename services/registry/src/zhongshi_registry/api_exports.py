"""Exports for officials (province; a city official sees its own city): CSV and XLSX with Chinese headers."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Response
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.errors import NotFound, errors

from zhongshi_registry import domain, exports
from zhongshi_registry.api import Wired
from zhongshi_registry.exports import Table

Official = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL, Role.CITY_OFFICIAL))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
router = APIRouter(prefix="/api/v1/exports", tags=["exports"])
FILE: dict[int | str, dict[str, Any]] = {200: {"description": "CSV (UTF-8) or XLSX, by the path's extension",
              "content": {"text/csv": {"schema": {"type": "string"}},
                          XLSX: {"schema": {"type": "string", "format": "binary"}}}}}


def rendered(table: Table, fmt: str, name: str) -> Response:
    if fmt == "csv":
        body, media = exports.csv_bytes(table), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        body, media = exports.xlsx_bytes(table, name), XLSX
    else:
        raise NotFound(f"不支持的导出格式 {fmt}（csv 或 xlsx）")
    return Response(body, media_type=media, headers={"Content-Disposition": disposition(f"{name}.{fmt}")})


def disposition(filename: str) -> str:
    """An attachment header any id fits in (RFC 6266): an ASCII fallback and the UTF-8 name."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get("/platforms.{fmt}", summary="The published list (registry entries)", response_class=Response,
            responses={**FILE, **errors(404)})
async def platforms(fmt: str, caller: Official, deps: Wired) -> Response:
    entries = [e for e in await deps.repo.all_entries() if caller.covers_city(e.city_code)]
    return rendered(exports.platforms_table(entries), fmt, "platforms")


@router.get("/rounds/{round_id}/results.{fmt}", summary="A round's review results and final decisions",
            response_class=Response, responses={**FILE, **errors(404)})
async def results(round_id: str, fmt: str, caller: Official, deps: Wired) -> Response:
    decisions = [d for d in await deps.repo.decisions_of_round(round_id) if caller.covers_city(d.city_code)]
    publicity = await deps.repo.publicity_of(round_id)
    closed = publicity is not None and publicity.closed_at is not None
    finals = domain.outcome(publicity, await deps.repo.objections_of_round(round_id)) if publicity and closed else []
    return rendered(exports.results_table(decisions, finals), fmt, f"results-{round_id}")


@router.get("/annual-reports/{year}.{fmt}", summary="The year's annual-report summary", response_class=Response,
            responses={**FILE, **errors(404)})
async def reports(year: int, fmt: str, caller: Official, deps: Wired) -> Response:
    cities = {e.id: e.city_code for e in await deps.repo.all_entries()}
    found = [r for r in await deps.repo.reports_in(year) if caller.covers_city(cities.get(r.platform_id, ""))]
    return rendered(exports.reports_table(found), fmt, f"annual-reports-{year}")
