"""Review's HTTP routes' shared parts — the callers' roles, the use cases' `Deps` (`app.state.deps`, set by the
factory) and the guard every province change to a round opens with — and the province's expert pool (专家库)
with each round's review settings. Draws are in `api_draws`, panels, scoring and decisions in `api_review`."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel
from zhongshi_contracts.reference import Cluster
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.errors import errors, must_exist
from zhongshi_runtime.outbox import record_read
from zhongshi_runtime.paging import Offset

from zhongshi_review import service
from zhongshi_review.pool import HELP, Expert, parse_rows, read_table
from zhongshi_review.rubric import RoundConfig
from zhongshi_review.service import Deps, open_round

MAX_UPLOAD = 5 * 1024 * 1024

router = APIRouter(prefix="/api/v1", tags=["expert pool"])
Province = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
ExpertCaller = Annotated[Principal, Depends(require(Role.EXPERT))]
ProvinceOrExpert = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL, Role.EXPERT))]

def deps(request: Request) -> Deps:
    """The use cases' dependencies, put on the app by app.py (`app.state.deps`)."""
    return cast(Deps, request.app.state.deps)

Wired = Annotated[Deps, Depends(deps)]

async def province_on_open_round(round_id: str, principal: Province, deps: Wired) -> Principal:
    """A province official changing the path's round: 401/403 first, then 409 once its decisions are confirmed."""
    await open_round(deps, round_id)
    return principal

ProvinceOnOpenRound = Annotated[Principal, Depends(province_on_open_round)]

class ImportResult(BaseModel):
    imported: int
    ids: list[str]

def _mismatch(field: str) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", field], "msg": f"{field} 与路径不一致", "type": "value_error"}])

def _uploaded(content: bytes, filename: str) -> list[Expert]:
    """The file's experts; 422 locating every bad cell by row and column (then nothing is imported)."""
    try:
        rows = read_table(content, filename)
    except (UnicodeDecodeError, ValueError, KeyError, OSError) as exc:
        raise HTTPException(422, [{"loc": ["body"], "msg": f"无法读取文件：{exc}", "type": "value_error"}]) from None
    found, problems = parse_rows(rows)
    if problems:
        raise HTTPException(422, [{"loc": ["body", p["row"], e["field"]], "type": "value_error",
                                   "msg": f"第{p['row']}行 {e['field']}：{e['message']}（未导入任何专家）"}
                                  for p in problems for e in p["errors"]])
    return found

@router.put("/experts/{expert_id}", summary="Add or update an expert (province)")
async def put_expert(expert_id: str, expert: Expert, principal: Province, request: Request, deps: Wired
                     ) -> Expert:
    if expert.id != expert_id:
        raise _mismatch("id")
    return await service.put_expert(deps, expert, Audit.request(principal, request, "expert.put", "expert",
                                                                  expert_id))

@router.get("/experts", summary="The pool, with filters (each read audited: it holds the experts' contacts)")
async def list_experts(
    principal: Province, request: Request, deps: Wired, field: Cluster | None = None, active: bool | None = None,
    offset: Offset = 0, limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    found = [e for e in await deps.repo.pool()
             if (field is None or field in e.fields) and (active is None or e.active is active)]
    page = found[offset : offset + limit]
    await record_read(deps.uow, Audit.request(principal, request, "expert_pool.read", "expert_pool", field or "*",
                                              outcome=f"{len(page)} 人：" + "、".join(e.id for e in page)))
    return {"total": len(found), "items": page}

@router.get("/experts/{expert_id}", summary="One expert (each read audited)", responses=errors(404))
async def get_expert(expert_id: str, principal: Province, request: Request, deps: Wired) -> Expert:
    found = must_exist(await deps.repo.expert(expert_id), f"专家 {expert_id} 不存在")
    await record_read(deps.uow, Audit.request(principal, request, "expert.read", "expert", expert_id))
    return found

@router.post("/experts/import", summary="Bulk import from CSV or XLSX (all rows or none)",
             description=f"Body: the file's bytes; `filename` ends in .csv or .xlsx. Columns: id, name, "
                         f"organisation, organisation_credit_code, title, fields, region_code, email, phone, "
                         f"active, relations. {HELP}", max_body_size=MAX_UPLOAD, responses=errors(413))
async def import_experts(request: Request, principal: Province, deps: Wired,
                         filename: str = Query(pattern=r"\.(csv|xlsx)$")) -> ImportResult:
    found = _uploaded(await request.body(), filename)
    ids = [e.id for e in found]
    await service.save_experts(deps, found, Audit.request(principal, request, "expert.import", "expert_pool",
                                                            filename, outcome="、".join(ids)))
    return ImportResult(imported=len(found), ids=ids)

@router.put("/rounds/{round_id}/review-settings", summary="Rubric, aggregation, panel size, lines, quota",
            responses=errors(409))
async def put_settings(round_id: str, settings: RoundConfig, principal: Province, request: Request,
                       deps: Wired) -> RoundConfig:
    if settings.round_id != round_id:
        raise _mismatch("round_id")
    return await service.put_settings(deps, settings, Audit.request(
        principal, request, "round.review_settings", "round", round_id, round_id=round_id))

@router.get("/rounds/{round_id}/review-settings", summary="The round's review settings (defaults if unset)")
async def get_settings(round_id: str, _: ProvinceOrExpert, deps: Wired) -> RoundConfig:
    return await deps.repo.round_config(round_id)
