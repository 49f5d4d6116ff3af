"""Panels, assignments, scoring, inspections and the round's decision (province and experts)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from zhongshi_contracts.review import Decision
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import Principal
from zhongshi_runtime.errors import errors
from zhongshi_runtime.preconditions import IfMatch, tag

from zhongshi_review import decision_service, scoring_service
from zhongshi_review.api import ExpertCaller, Province, ProvinceOnOpenRound, Wired
from zhongshi_review.records import Inspection, Override, Panel, ScoreSheet
from zhongshi_review.scoring_service import Sheet
from zhongshi_review.service import my_panel

router = APIRouter(prefix="/api/v1", tags=["expert review"])
Note = Annotated[str, Field(min_length=2, max_length=2000)]


class Reason(BaseModel):
    reason: Note


class Reconciliation(BaseModel):
    note: Note


class InspectionResult(BaseModel):
    passed: bool
    notes: str = Field("", max_length=4000)


class OverrideRequest(BaseModel):
    decision: Decision
    justification: Note


def _audit(principal: Principal, request: Request, action: str, application_id: str) -> Audit:
    """The audit of a change to one application; the use case adds its round, reason and outcome."""
    return Audit.request(principal, request, action, "application", application_id, application_ids=[application_id])


@router.get("/panels/{application_id}", summary="A panel with every score sheet (province)", responses=errors(404))
async def read_panel(application_id: str, _: Province, deps: Wired, response: Response) -> dict[str, Any]:
    view = await decision_service.read_panel(deps, application_id)
    tag(response, view["panel"].version)
    return view


@router.get("/assignments", summary="My assignments")
async def assignments(expert: ExpertCaller, deps: Wired) -> list[dict[str, Any]]:
    return await scoring_service.assignments(deps, expert.organisation)


@router.get("/assignments/{application_id}", summary="An assignment: dossier, report, opinions, my score",
            responses=errors(404))
async def assignment(application_id: str, expert: ExpertCaller, deps: Wired, response: Response
                     ) -> dict[str, Any]:
    panel = await my_panel(deps, application_id, expert.organisation)
    tag(response, panel.version)
    return await scoring_service.assignment(deps, panel, expert.organisation)


@router.post("/assignments/{application_id}/score", summary="Score against the rubric", responses=errors(404, 409))
async def score(application_id: str, sheet: Sheet, expert: ExpertCaller, request: Request, deps: Wired
                ) -> ScoreSheet:
    audit = _audit(expert, request, "assignment.score", application_id)
    return await scoring_service.score(deps, application_id, expert.organisation, sheet, audit)


@router.post("/assignments/{application_id}/decline", summary="Decline (declaring a conflict); a redraw follows",
             responses=errors(404, 409, 412))
async def decline(application_id: str, body: Reason, expert: ExpertCaller, request: Request, deps: Wired,
                  if_match: IfMatch = None) -> dict[str, Any]:
    audit = _audit(expert, request, "assignment.decline", application_id)
    replacement = await scoring_service.decline(deps, application_id, expert.organisation, body.reason, if_match, audit)
    return {"replacement_drawn": replacement is not None,
            "message": "已回避并补抽专家" if replacement else "已回避；符合条件的专家不足，待省经信厅补充"}


@router.post("/assignments/{application_id}/reconcile", summary="The lead's note on diverging scores",
             responses=errors(404, 409, 412))
async def reconcile(application_id: str, body: Reconciliation, expert: ExpertCaller, request: Request,
                    deps: Wired, response: Response, if_match: IfMatch = None) -> Panel:
    audit = _audit(expert, request, "panel.reconcile", application_id)
    saved = await scoring_service.reconcile(deps, application_id, expert.organisation, body.note, if_match, audit)
    tag(response, saved.version)
    return saved


@router.post("/applications/{application_id}/inspection", summary="Record the on-site inspection (现场核查)",
             responses=errors(404, 409))
async def record_inspection(application_id: str, body: InspectionResult, principal: Province, request: Request,
                     deps: Wired) -> Inspection:
    audit = _audit(principal, request, "inspection.record", application_id)
    return await decision_service.record_inspection(deps, application_id, body.passed, body.notes, audit)


@router.post("/rounds/{round_id}/overrides/{application_id}", summary="Override one proposed decision",
             responses=errors(404, 409))
async def override(round_id: str, application_id: str, body: OverrideRequest, principal: ProvinceOnOpenRound,
                   request: Request, deps: Wired) -> Override:
    audit = _audit(principal, request, "decision.override", application_id)
    audit.round_id = round_id
    return await decision_service.override(deps, round_id, application_id, body.decision, body.justification, audit)


@router.get("/rounds/{round_id}/proposal", summary="The proposed decision list, ranked, with what is missing")
async def proposal(round_id: str, _: Province, deps: Wired) -> dict[str, Any]:
    return await decision_service.proposal(deps, round_id)


@router.post("/rounds/{round_id}/confirm", summary="Confirm the decision list: pilot.deps.decided for each",
             responses=errors(409))
async def confirm(round_id: str, principal: Province, request: Request, deps: Wired) -> dict[str, Any]:
    audit = Audit.request(principal, request, "decision.confirm", "round", round_id, round_id=round_id)
    confirmed, at = await decision_service.confirm(deps, round_id, audit)
    return {"confirmed": confirmed, "confirmed_at": at}
