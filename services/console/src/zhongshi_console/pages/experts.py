"""The province's expert pool (专家库): the list, and the import of a CSV or XLSX file with every bad row shown."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile
from zhongshi_runtime.auth import Role

from zhongshi_console.clients import Backends
from zhongshi_console.deps import Wired
from zhongshi_console.roles import Caller, signed_in
from zhongshi_console.web import render, unless_refused

API = "/api/v1"
Province = Annotated[Caller, Depends(signed_in(Role.PROVINCE_OFFICIAL))]
PAGE_SIZE = 50


api = APIRouter(prefix="/province/experts", include_in_schema=False)


async def pool_page(request: Request, backends: Backends, caller: Caller, offset: int = 0, status_code: int = 200,
                    **extra: Any) -> HTMLResponse:
    found = await backends.call("review", "GET", f"{API}/experts", caller.token,
                                params={"offset": offset, "limit": PAGE_SIZE})
    return render(request, "province/experts.html", {"pool": found, "offset": offset, "page_size": PAGE_SIZE,
                                                     "problems": [], **extra}, status_code)


@api.get("", response_class=HTMLResponse)
async def pool(request: Request, caller: Province, backends: Wired,
               offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> HTMLResponse:
    return await pool_page(request, backends, caller, offset)


@api.post("/import", response_class=HTMLResponse)
async def import_pool(request: Request, caller: Province, backends: Wired) -> Response:
    """All rows or none: review refuses the file with every bad cell by row, shown as a list."""
    file = (await request.form()).get("file")
    name = (file.filename or "").lower() if isinstance(file, UploadFile) else ""
    if not isinstance(file, UploadFile) or not name.endswith((".csv", ".xlsx")):
        return await pool_page(request, backends, caller, status_code=422, problems=["请选择 CSV 或 XLSX 文件"])
    done = await unless_refused(
        backends.call("review", "POST", f"{API}/experts/import", caller.token, params={"filename": name},
                      content=await file.read()),
        lambda exc: pool_page(request, backends, caller, status_code=exc.status,
                              problems=list(exc.fields.values()) or [exc.message]), statuses=(413, 422))
    return await pool_page(request, backends, caller, imported=done["imported"])
