"""The province's expert pool (专家库) and each round's review settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel
from zhongshi_contracts.events import Event
from zhongshi_contracts.reference import Cluster
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import Session, UnitOfWork
from zhongshi_runtime.paging import Offset

from zhongshi_review.pool import HELP, Expert, parse_rows, read_table
from zhongshi_review.repository import ReviewRepository
from zhongshi_review.rubric import RoundConfig

Province = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
ProvinceOrExpert = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL, Role.EXPERT))]
MAX_UPLOAD = 5 * 1024 * 1024


class ImportResult(BaseModel):
    imported: int
    ids: list[str]


def router(repo: ReviewRepository, uow: UnitOfWork) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["expert pool"])

    async def put_experts(experts: list[Expert], audit: Audit) -> None:
        async def work(session: Session) -> list[Event]:
            for expert in experts:
                await repo.experts.put(expert.id, expert, session)
            return []

        await uow.run(work, audit=audit)

    @api.put("/experts/{expert_id}", summary="Add or update an expert (province)")
    async def put_expert(expert_id: str, expert: Expert, principal: Province, request: Request) -> Expert:
        if expert.id != expert_id:
            raise HTTPException(422, [{"loc": ["body", "id"], "msg": "id 与路径不一致", "type": "value_error"}])
        before = await repo.experts.get(expert_id)
        outcome = ("停用" if not expert.active else "更新") if before else "新增"
        await put_experts([expert], Audit.request(principal, request, "expert.put", "expert", expert_id,
                                                  outcome=outcome))
        return expert

    @api.get("/experts", summary="The pool, with filters")
    async def list_experts(
        _: Province, field: Cluster | None = None, active: bool | None = None,
        offset: Offset = 0, limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        found = [e for e in await repo.experts.find()
                 if (field is None or field in e.fields) and (active is None or e.active is active)]
        return {"total": len(found), "items": found[offset : offset + limit]}

    @api.get("/experts/{expert_id}", summary="One expert", responses=errors(404))
    async def get_expert(expert_id: str, _: Province) -> Expert:
        expert = await repo.experts.get(expert_id)
        if expert is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"专家 {expert_id} 不存在")
        return expert

    @api.post("/experts/import", summary="Bulk import from CSV or XLSX (all rows or none)",
              description=f"Body: the file's bytes; `filename` ends in .csv or .xlsx. Columns: id, name, "
                          f"organisation, organisation_credit_code, title, fields, region_code, email, phone, "
                          f"active, relations. {HELP}", max_body_size=MAX_UPLOAD, responses=errors(413))
    async def import_experts(request: Request, principal: Province, filename: str = Query(pattern=r"\.(csv|xlsx)$")
                             ) -> ImportResult:
        content = await request.body()
        try:
            rows = read_table(content, filename)
        except (UnicodeDecodeError, ValueError, KeyError, OSError) as exc:
            problem = [{"loc": ["body"], "msg": f"无法读取文件：{exc}", "type": "value_error"}]
            raise HTTPException(422, problem) from None
        experts, problems = parse_rows(rows)
        if problems:  # every bad cell, located by row and column; nothing is imported
            raise HTTPException(422, [{"loc": ["body", p["row"], e["field"]], "type": "value_error",
                                       "msg": f"第{p['row']}行 {e['field']}：{e['message']}（未导入任何专家）"}
                                      for p in problems for e in p["errors"]])
        await put_experts(experts, Audit.request(principal, request, "expert.import", "expert_pool", filename,
                                                 outcome="、".join(e.id for e in experts)))
        return ImportResult(imported=len(experts), ids=[e.id for e in experts])

    @api.put("/rounds/{round_id}/review-settings", summary="Rubric, aggregation, panel size, lines, quota",
             responses=errors(409))
    async def put_settings(round_id: str, settings: RoundConfig, principal: Province, request: Request
                           ) -> RoundConfig:
        if settings.round_id != round_id:
            raise HTTPException(422, [{"loc": ["body", "round_id"], "msg": "round_id 与路径不一致",
                                       "type": "value_error"}])
        state = await repo.rounds.get(round_id)
        if state and state.confirmed_at:
            raise HTTPException(status.HTTP_409_CONFLICT, "本批次评审结果已确认，不能修改评审设置")
        async def work(session: Session) -> list[Event]:
            started = await repo.scoring_started.get(round_id, session)
            current = await repo.settings.get(round_id, session) or RoundConfig(round_id=round_id)
            if started is not None and settings.rubric != current.rubric:  # never two rubrics in one aggregate
                raise HTTPException(status.HTTP_409_CONFLICT, f"本批次已开始评分（评分标准 {started.rubric_version}），"
                                    "不能修改评分标准；其他设置仍可修改")
            await repo.settings.put(round_id, settings, session)
            return []

        await uow.run(work, audit=Audit.request(
            principal, request, "round.review_settings", "round", round_id, round_id=round_id,
            outcome=f"评分表 {settings.rubric.version}；专家 {settings.panel_size} 人；认定线 "
                    f"{settings.accreditation_line}；培育线 {settings.cultivation_line}；名额 {settings.quota}"))
        return settings

    @api.get("/rounds/{round_id}/review-settings", summary="The round's review settings (defaults if unset)")
    async def get_settings(round_id: str, _: ProvinceOrExpert) -> RoundConfig:
        return await repo.settings.get(round_id) or RoundConfig(round_id=round_id)

    return api
