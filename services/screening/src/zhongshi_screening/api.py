"""Screening's HTTP API: rule sets, the applicant's self-check, and screening reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import ClauseResult, ScreeningOutcome
from zhongshi_contracts.materials import MaterialKind
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import OFFICIALS, Principal, Role, current_principal, require
from zhongshi_runtime.errors import errors

from zhongshi_screening import service
from zhongshi_screening.rules import DEFAULT_RULE_SET, RuleSet
from zhongshi_screening.service import Deps


class EligibilityCheck(BaseModel):
    """An applicant's self-check: the dossier and, optionally, the rule set of the round it aims at."""

    dossier: Dossier
    rule_set_version: str = Field(DEFAULT_RULE_SET.version)
    uploaded_kinds: list[MaterialKind] = Field(
        default_factory=list, max_length=50, description="Kinds of the materials uploaded so far (C9 rests on them).")


class VerdictView(BaseModel):
    outcome: ScreeningOutcome
    rule_set_version: str
    as_of: date
    failing: list[str]
    flagged: list[str]
    clauses: list[ClauseResult]


def deps(request: Request) -> Deps:
    """The use cases' dependencies, put on the app by app.py (`app.state.deps`)."""
    return cast(Deps, request.app.state.deps)


Wired = Annotated[Deps, Depends(deps)]
router = APIRouter(prefix="/api/v1", tags=["screening"])
SignedIn = Depends(current_principal)


@router.get("/rule-sets", summary="List rule-set versions", dependencies=[SignedIn])
async def list_rule_sets(deps: Wired) -> list[RuleSet]:
    return await deps.repo.rule_sets()


@router.get("/rule-sets/{version}", summary="One rule-set version", dependencies=[SignedIn], responses=errors(404))
async def get_rule_set(version: str, deps: Wired) -> RuleSet:
    return await service.rule_set_of(deps, version)


@router.post("/rule-sets", status_code=201, summary="Add a rule-set version (province)", responses=errors(409))
async def add_rule_set(
    rule_set: RuleSet, principal: Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))], request: Request,
    deps: Wired,
) -> RuleSet:
    audit = Audit.request(principal, request, "rule_set.add", "rule_set", rule_set.version)
    return await service.add_rule_set(deps, rule_set, audit)


@router.post("/eligibility/check", summary="Self-check a dossier: same rules, nothing stored, no event")
async def check(
    body: EligibilityCheck, _: Annotated[Principal, Depends(require(Role.APPLICANT, *OFFICIALS))], deps: Wired,
) -> VerdictView:
    verdict = await service.check(deps, body.dossier, body.rule_set_version, body.uploaded_kinds)
    return VerdictView(
        outcome=verdict.outcome, rule_set_version=verdict.rule_set_version, as_of=verdict.as_of,
        failing=verdict.failing, flagged=verdict.flagged, clauses=list(verdict.clauses),
    )


@router.get("/screenings/{application_id}", summary="Screening reports of an application, oldest first",
            responses=errors(404))
async def screenings(
    application_id: str, principal: Annotated[Principal, Depends(current_principal)], deps: Wired,
) -> list[dict[str, Any]]:
    return await service.screenings(deps, application_id, principal)
