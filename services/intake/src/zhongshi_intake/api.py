"""Intake's HTTP API: rounds (province) and applications (applicants; officials read within scope)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import Event
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import OFFICIALS, Principal, Role, current_principal, require, shown_actor
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import Session, UnitOfWork
from zhongshi_runtime.paging import Offset
from zhongshi_runtime.validation import refuse_control_characters, refuse_future_dates

from zhongshi_intake import domain
from zhongshi_intake.domain import Application, Round, Status, TimelineEntry, TransitionRefused
from zhongshi_intake.repository import AlreadyExists, ApplicationFilter, IntakeRepository

ApplicantCaller = Annotated[Principal, Depends(require(Role.APPLICANT))]
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
    region_code: str
    city_code: str
    dossier: Dossier
    created_at: Any
    updated_at: Any
    timeline: list[TimelineEntry]

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


def _conflict(message: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, message)


def router(repo: IntakeRepository, uow: UnitOfWork, clock: Clock) -> APIRouter:
    api = APIRouter(prefix="/api/v1")

    # ---- rounds (批次) ----
    @api.post("/rounds", status_code=201, tags=["rounds"], summary="Open a round (province)", responses=errors(409))
    async def open_round(
        round_: Round, principal: Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))], request: Request,
    ) -> Round:
        async def work(session: Session) -> list[Event]:
            await repo.add_round(round_, session)
            return []

        try:
            await uow.run(work, audit=Audit.request(principal, request, "round.open", "round", round_.id,
                                                    round_id=round_.id, outcome=round_.title))
        except AlreadyExists:
            raise _conflict(f"批次 {round_.id} 已存在") from None
        return round_

    @api.get("/rounds", tags=["rounds"], dependencies=[Depends(current_principal)])
    async def list_rounds() -> list[Round]:
        return await repo.rounds()

    @api.get("/rounds/{round_id}", tags=["rounds"], dependencies=[Depends(current_principal)], responses=errors(404))
    async def get_round(round_id: str) -> Round:
        found = await repo.round(round_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"批次 {round_id} 不存在")
        return found

    # ---- applications (申报) ----
    async def owned(application_id: str, principal: Principal) -> Application:
        """The caller's own application, or 404 (an application outside one's scope is not revealed)."""
        app = await repo.get(application_id)
        if app is None or not _may_read(principal, app):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"申报 {application_id} 不存在")
        return app

    async def known_round(round_id: str) -> Round:
        round_ = await repo.round(round_id)
        if round_ is None:
            raise RequestValidationError(
                [{"loc": ("body", "round_id"), "msg": f"批次 {round_id} 不存在", "type": "value_error"}]
            )
        return round_

    @api.post("/applications", status_code=201, tags=["applications"], summary="Create a draft",
              responses={200: {"model": ApplicationView, "description": "同一 Idempotency-Key 的既有申报（重放）"}})
    async def create(
        body: NewApplication, response: Response, principal: ApplicantCaller, request: Request,
        idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
    ) -> ApplicationView:
        if body.dossier.applicant.credit_code != principal.organisation:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "只能以本单位（令牌中的统一社会信用代码）名义申报")
        if idempotency_key and (earlier := await repo.by_idempotency_key(principal.organisation, idempotency_key)):
            response.status_code = status.HTTP_200_OK
            return ApplicationView.of(earlier, principal)
        refuse_future_dates(body.dossier, shanghai_date(clock()))
        refuse_control_characters(body.dossier)
        app = domain.draft(body.dossier, await known_round(body.round_id), now=clock(),
                           idempotency_key=idempotency_key)
        async def work(session: Session) -> list[Event]:
            await repo.add(app, session)
            return []

        try:
            await uow.run(work, audit=Audit.request(principal, request, "application.create", "application", app.id,
                                                    application_ids=[app.id], round_id=app.round_id,
                                                    outcome=app.status.value))
        except AlreadyExists:  # a concurrent request with the same idempotency key won
            earlier = await repo.by_idempotency_key(principal.organisation, idempotency_key or "")
            if earlier is None:
                raise
            response.status_code = status.HTTP_200_OK
            return ApplicationView.of(earlier, principal)
        return ApplicationView.of(app, principal)

    @api.patch("/applications/{application_id}", tags=["applications"], summary="Edit a draft or returned application",
               responses=errors(404, 409))
    async def edit(
        application_id: str, patch: Annotated[dict[str, Any], Body(description="JSON merge patch of the dossier")],
        principal: ApplicantCaller, request: Request,
    ) -> ApplicationView:
        app = await owned(application_id, principal)
        try:
            dossier = Dossier.model_validate(_merge(app.dossier.model_dump(mode="json"), patch))
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", "dossier", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
        refuse_future_dates(dossier, shanghai_date(clock()))
        refuse_control_characters(dossier)
        try:
            updated = domain.revise(app, dossier, now=clock())
        except TransitionRefused as exc:
            raise _conflict(str(exc)) from None

        async def work(session: Session) -> list[Event]:
            await repo.save(updated, session)
            return []

        await uow.run(work, audit=_audit(principal, request, "application.edit", updated))
        return ApplicationView.of(updated, principal)

    @api.post("/applications/{application_id}/submit", tags=["applications"], summary="Submit (or resubmit)",
              responses=errors(404, 409))
    async def submit(application_id: str, principal: ApplicantCaller, request: Request) -> ApplicationView:
        app = await owned(application_id, principal)
        round_ = await repo.round(app.round_id)
        if round_ is None:
            raise _conflict(f"批次 {app.round_id} 不存在")
        audit = _audit(principal, request, "application.submit", app)
        return await _transition(app, audit, lambda current: domain.submit(
            current, round_, now=clock(), event_id=str(uuid.uuid4())), principal)

    @api.post("/applications/{application_id}/withdraw", tags=["applications"], summary="Withdraw",
              responses=errors(404, 409))
    async def withdraw(
        application_id: str, principal: ApplicantCaller, request: Request,
        body: Withdrawal | None = None,
    ) -> ApplicationView:
        app = await owned(application_id, principal)
        reason = body.reason if body else ""
        audit = _audit(principal, request, "application.withdraw", app, reason=reason)
        return await _transition(app, audit, lambda current: domain.withdraw(
            current, reason=reason, now=clock(), event_id=str(uuid.uuid4())), principal)

    async def _transition(app: Application, audit: Audit, step: Any, principal: Principal) -> ApplicationView:
        """Apply ``step`` to the stored application and write it with its event in one transaction."""
        result: list[Application] = []

        async def work(session: Session) -> list[Event]:
            current = await repo.get(app.id, session)
            if current is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"申报 {app.id} 不存在")
            updated, event = step(current)
            await repo.save(updated, session)
            result[:] = [updated]
            audit.outcome = updated.status.value
            return [event]

        try:
            await uow.run(work, audit=audit)
        except TransitionRefused as exc:
            raise _conflict(str(exc)) from None
        return ApplicationView.of(result[0], principal)

    @api.get("/applications/{application_id}", tags=["applications"], summary="An application with its timeline",
             responses=errors(404))
    async def read(application_id: str, principal: ReaderCaller) -> ApplicationView:
        return ApplicationView.of(await owned(application_id, principal), principal)

    @api.get("/applications", tags=["applications"], summary="Own applications, or those within an official's scope")
    async def listing(
        principal: ReaderCaller,
        round_id: str | None = None, status_: Annotated[Status | None, Query(alias="status")] = None,
        region_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
        city_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
        offset: Offset = 0, limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> Page:
        where = _scoped(principal, ApplicationFilter(
            round_id=round_id, status=status_.value if status_ else None, region_code=region_code,
            city_code=city_code,
        ))
        total, apps = (0, []) if where is None else await repo.list(where, offset=offset, limit=limit)
        return Page(total=total, offset=offset, limit=limit, items=[_summary(a) for a in apps])

    return api


def _audit(principal: Principal, request: Request, action: str, app: Application, reason: str = "") -> Audit:
    return Audit.request(principal, request, action, "application", app.id, application_ids=[app.id],
                         round_id=app.round_id, reason=reason, outcome=app.status.value)


def _may_read(principal: Principal, app: Application) -> bool:
    if principal.role is Role.APPLICANT:
        return app.applicant_credit_code == principal.organisation
    return principal.role in OFFICIALS and principal.covers_region(app.region_code)


def _scoped(principal: Principal, where: ApplicationFilter) -> ApplicationFilter | None:
    """Narrow a filter to the caller's scope; None when the filter asks for something outside it."""
    fields = vars(where).copy()
    if principal.role is Role.APPLICANT:
        fields["applicant_credit_code"] = principal.organisation
    elif principal.role is Role.COUNTY_OFFICIAL:
        if where.region_code not in (None, principal.organisation):
            return None
        fields["region_code"] = principal.organisation
    elif principal.role is Role.CITY_OFFICIAL:
        if where.city_code not in (None, principal.organisation):
            return None
        fields["city_code"] = principal.organisation
    return ApplicationFilter(**fields)


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged
