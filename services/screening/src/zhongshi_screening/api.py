"""Screening's HTTP API: rule sets, the applicant's self-check, and screening reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import ClauseResult, Event, ScreeningOutcome
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import OFFICIALS, Principal, Role, current_principal, require
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import Session, UnitOfWork
from zhongshi_runtime.validation import refuse_future_dates

from zhongshi_screening.domain import evaluate
from zhongshi_screening.repository import RuleSetConflict, ScreeningRepository
from zhongshi_screening.rules import DEFAULT_RULE_SET, RuleSet


class EligibilityCheck(BaseModel):
    """An applicant's self-check: the dossier and, optionally, the rule set of the round it aims at."""

    dossier: Dossier
    rule_set_version: str = Field(DEFAULT_RULE_SET.version)


class _Unchanged(Exception):
    """The identical rule-set version is stored already: nothing to write, nothing to audit."""


class VerdictView(BaseModel):
    outcome: ScreeningOutcome
    rule_set_version: str
    as_of: date
    failing: list[str]
    flagged: list[str]
    clauses: list[ClauseResult]


def router(repo: ScreeningRepository, uow: UnitOfWork, clock: Clock) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["screening"])
    signed_in = Depends(current_principal)

    async def known_rule_set(version: str) -> RuleSet:
        rule_set = await repo.rule_set(version)
        if rule_set is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"规则集 {version} 不存在")
        return rule_set

    @api.get("/rule-sets", summary="List rule-set versions", dependencies=[signed_in])
    async def list_rule_sets() -> list[RuleSet]:
        return await repo.rule_sets()

    @api.get("/rule-sets/{version}", summary="One rule-set version", dependencies=[signed_in], responses=errors(404))
    async def get_rule_set(version: str) -> RuleSet:
        return await known_rule_set(version)

    @api.post("/rule-sets", status_code=201, summary="Add a rule-set version (province)", responses=errors(409))
    async def add_rule_set(
        rule_set: RuleSet, principal: Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))], request: Request,
    ) -> RuleSet:
        async def work(session: Session) -> list[Event]:
            if not await repo.add_rule_set(rule_set, session):
                raise _Unchanged
            return []

        try:
            await uow.run(work, audit=Audit.request(principal, request, "rule_set.add", "rule_set", rule_set.version))
        except _Unchanged:
            pass
        except RuleSetConflict:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"规则集版本 {rule_set.version} 已存在且内容不同；请使用新的版本号"
            ) from None
        return rule_set

    @api.post("/eligibility/check", summary="Self-check a dossier: same rules, nothing stored, no event")
    async def check(
        body: EligibilityCheck, _: Annotated[Principal, Depends(require(Role.APPLICANT, *OFFICIALS))]
    ) -> VerdictView:
        today = shanghai_date(clock())
        refuse_future_dates(body.dossier, today)
        rule_set = await repo.rule_set(body.rule_set_version)
        if rule_set is None:  # a field of the body naming nothing: bad input, like intake's unknown round
            raise RequestValidationError([{"loc": ("body", "rule_set_version"), "type": "value_error",
                                           "msg": f"规则集 {body.rule_set_version} 不存在"}])
        verdict = evaluate(body.dossier, rule_set, today)
        return VerdictView(
            outcome=verdict.outcome, rule_set_version=verdict.rule_set_version, as_of=verdict.as_of,
            failing=verdict.failing, flagged=verdict.flagged, clauses=list(verdict.clauses),
        )

    @api.get("/screenings/{application_id}", summary="Screening reports of an application, oldest first",
             responses=errors(404))
    async def screenings(
        application_id: str, principal: Annotated[Principal, Depends(current_principal)]
    ) -> list[dict[str, Any]]:
        reports = await repo.screenings(application_id)
        if not reports or not _may_read(principal, reports[-1]):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "未找到该申报的审查记录")
        return [{k: v for k, v in r.items() if k != "_id"} for r in reports]

    return api


def _may_read(principal: Principal, report: dict[str, Any]) -> bool:
    if principal.role is Role.APPLICANT:
        return bool(report["applicant_credit_code"] == principal.organisation)
    return principal.role in OFFICIALS and principal.covers_region(report["region_code"])
