"""Intake's HTTP API: rounds (province) and applications (applicants; officials read within scope)."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response, status
from pydantic import BaseModel, Field
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.materials import MaterialReference
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import OFFICIALS, Principal, Role, current_principal, require, shown_actor
from zhongshi_runtime.errors import errors
from zhongshi_runtime.paging import Offset
from zhongshi_runtime.preconditions import IfMatch, tag

from zhongshi_intake import service
from zhongshi_intake.domain import Application, Round, Status, TimelineEntry
from zhongshi_intake.repository import ApplicationFilter
from zhongshi_intake.service import Deps


def deps(request: Request) -> Deps:
    """The use cases' dependencies, put on the app by app.py (`app.state.deps`)."""
    return cast(Deps, request.app.state.deps)


Wired = Annotated[Deps, Depends(deps)]
ApplicantCaller = Annotated[Principal, Depends(require(Role.APPLICANT))]
ProvinceCaller = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
ReaderCaller = Annotated[Principal, Depends(require(Role.APPLICANT, *OFFICIALS))]


class NewApplication(BaseModel):
    round_id: str = Field(examples=["R2026-01"])
    dossier: Dossier


class Withdrawal(BaseModel):
    reason: str = Field("", max_length=2000)


class ApplicationView(BaseModel):
    """An application as its applicant or an official sees it."""

    id: str
    round_id: str
    status: Status
    status_label: str
    revision: int
    version: int = Field(description="Sent as the ETag; send it back as If-Match to edit, submit or withdraw.")
    region_code: str
    city_code: str
    dossier: Dossier
    created_at: Any
    updated_at: Any
    timeline: list[TimelineEntry]
    materials: list[MaterialReference] = Field(default_factory=list, description="Uploaded materials it lists.")

    @classmethod
    def of(cls, app: Application, viewer: Principal) -> ApplicationView:
        """The application as ``viewer`` sees it: applicants see the departments that acted, not their people."""
        data = app.model_dump(exclude={"applicant_credit_code", "idempotency_key"})
        for entry in data["timeline"]:
            if isinstance(actor := entry["details"].get("actor"), dict):
                entry["details"]["actor"] = {**actor, "id": shown_actor(viewer, str(actor.get("id", "")),
                                                                        str(actor.get("role", "")),
                                                                        str(actor.get("region_code", "")))}
        return cls(**data, status_label=app.status_label)


class ApplicationSummary(BaseModel):
    id: str
    round_id: str
    applicant_name: str
    platform_name: str
    region_code: str
    city_code: str
    status: Status
    status_label: str
    revision: int
    updated_at: Any


class Page(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ApplicationSummary]


def _summary(app: Application) -> ApplicationSummary:
    return ApplicationSummary(
        id=app.id, round_id=app.round_id, applicant_name=app.dossier.applicant.name,
        platform_name=app.dossier.platform.name, region_code=app.region_code, city_code=app.city_code,
        status=app.status, status_label=app.status_label, revision=app.revision, updated_at=app.updated_at,
    )


router = APIRouter(prefix="/api/v1")


def _audit(principal: Principal, request: Request, action: str, application_id: str = "", reason: str = "") -> Audit:
    """The route's audit of an application; the use case completes it with the application it is about."""
    return Audit.request(principal, request, action, "application", application_id, reason=reason)


# ---- rounds (批次) ----
@router.post("/rounds", status_code=201, tags=["rounds"], summary="Open a round (province)", responses=errors(409))
async def open_round(round_: Round, principal: ProvinceCaller, request: Request, deps: Wired) -> Round:
    audit = Audit.request(principal, request, "round.open", "round", round_.id, round_id=round_.id,
                          outcome=round_.title)
    return await service.open_round(deps, round_, audit)


@router.get("/rule-sets", tags=["rounds"], summary="Rule-set versions a round may name (published by screening)",
            dependencies=[Depends(current_principal)])
async def rule_sets(deps: Wired) -> list[str]:
    return await deps.repo.rule_sets()


@router.get("/rounds", tags=["rounds"], dependencies=[Depends(current_principal)])
async def list_rounds(deps: Wired) -> list[Round]:
    return await deps.repo.rounds()


@router.get("/rounds/{round_id}", tags=["rounds"], dependencies=[Depends(current_principal)], responses=errors(404))
async def get_round(round_id: str, deps: Wired) -> Round:
    return await service.round_of(deps, round_id)


# ---- applications (申报) ----
@router.post("/applications", status_code=201, tags=["applications"], summary="Create a draft",
             responses={200: {"model": ApplicationView, "description": "同一 Idempotency-Key 的既有申报（重放）"}})
async def create(
    body: NewApplication, response: Response, principal: ApplicantCaller, request: Request, deps: Wired,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> ApplicationView:
    audit = _audit(principal, request, "application.create")
    app, replay = await service.create(deps, body.round_id, body.dossier, principal, idempotency_key, audit)
    if replay:
        response.status_code = status.HTTP_200_OK
    return ApplicationView.of(app, principal)


@router.patch("/applications/{application_id}", tags=["applications"],
              summary="Edit a draft or returned application", responses=errors(404, 409, 412))
async def edit(
    application_id: str, patch: Annotated[dict[str, Any], Body(description="JSON merge patch of the dossier")],
    principal: ApplicantCaller, request: Request, response: Response, deps: Wired, if_match: IfMatch = None,
) -> ApplicationView:
    audit = _audit(principal, request, "application.edit", application_id)
    saved = await service.edit(deps, application_id, patch, principal, audit, if_match)
    tag(response, saved.version)
    return ApplicationView.of(saved, principal)


@router.post("/applications/{application_id}/submit", tags=["applications"], summary="Submit (or resubmit)",
             responses=errors(404, 409, 412))
async def submit(application_id: str, principal: ApplicantCaller, request: Request, response: Response,
                 deps: Wired, if_match: IfMatch = None) -> ApplicationView:
    audit = _audit(principal, request, "application.submit", application_id)
    saved = await service.submit(deps, application_id, principal, audit, if_match)
    tag(response, saved.version)
    return ApplicationView.of(saved, principal)


@router.post("/applications/{application_id}/withdraw", tags=["applications"], summary="Withdraw",
             responses=errors(404, 409, 412))
async def withdraw(application_id: str, principal: ApplicantCaller, request: Request, response: Response,
                   deps: Wired, if_match: IfMatch = None, body: Withdrawal | None = None) -> ApplicationView:
    reason = body.reason if body else ""
    audit = _audit(principal, request, "application.withdraw", application_id, reason=reason)
    saved = await service.withdraw(deps, application_id, principal, audit, if_match, reason)
    tag(response, saved.version)
    return ApplicationView.of(saved, principal)


@router.get("/applications/{application_id}", tags=["applications"], summary="An application with its timeline",
            responses=errors(404))
async def read(application_id: str, principal: ReaderCaller, response: Response, deps: Wired) -> ApplicationView:
    app = await service.readable(deps, application_id, principal)
    tag(response, app.version)
    return ApplicationView.of(app, principal)


@router.get("/applications", tags=["applications"], summary="Own applications, or those within an official's scope")
async def listing(
    principal: ReaderCaller, deps: Wired,
    round_id: str | None = None, status_: Annotated[Status | None, Query(alias="status")] = None,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    city_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    offset: Offset = 0, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page:
    where = ApplicationFilter(round_id=round_id, status=status_.value if status_ else None, region_code=region_code,
                              city_code=city_code)
    total, apps = await service.listing(deps, principal, where, offset, limit)
    return Page(total=total, offset=offset, limit=limit, items=[_summary(a) for a in apps])
