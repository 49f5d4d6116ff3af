"""Intake's materials API: upload, list and download an application's materials, its printable form, and
deleting a draft with its materials. Use cases live in `materials`; these routes only translate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, Response, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import Principal, Role, current_principal, require
from zhongshi_runtime.errors import errors

from zhongshi_intake import materials
from zhongshi_intake.domain import Application, MaterialsMissing, TransitionRefused
from zhongshi_intake.form_pdf import form_pdf
from zhongshi_intake.material_store import MaterialRecord
from zhongshi_intake.materials import Materials, Upload
from zhongshi_intake.sniff import DOCX, XLSX, Refused, content_disposition

Caller = Annotated[Principal, Depends(current_principal)]
ApplicantCaller = Annotated[Principal, Depends(require(Role.APPLICANT))]
SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}


class MaterialList(BaseModel):
    """The materials the application lists now, and every stored version (replaced ones included)."""

    current: list[str]
    versions: list[MaterialRecord]


class Deleted(BaseModel):
    """The deleted draft and the materials deleted with it."""

    id: str
    materials: list[str]


def _bad(field: str, message: str) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", field], "msg": message, "type": "value_error"}])


def _refused(exc: Refused) -> HTTPException:
    return _bad(exc.field, exc.detail) if exc.status == 422 else HTTPException(exc.status, exc.detail)


def _title(title: str) -> str:
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in title):
        raise _bad("title", "标题不得包含控制字符")
    return title.strip() or "未命名材料"


def _audit(principal: Principal, request: Request, action: str, app: Application,
           target: tuple[str, str] | None = None) -> Audit:
    kind, target_id = target or ("application", app.id)
    return Audit.request(principal, request, action, kind, target_id, application_ids=[app.id], round_id=app.round_id)


def router(ctx: Materials) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["materials"])

    async def readable(application_id: str, principal: Principal) -> Application:
        """The application if the caller may read its materials; 404 otherwise (existence is not revealed)."""
        app = await ctx.repo.get(application_id)
        if app is None or not await materials.may_read(ctx, principal, app):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"申报 {application_id} 不存在")
        return app

    async def own(application_id: str, principal: Principal) -> Application:
        app = await ctx.repo.get(application_id)
        if app is None or app.applicant_credit_code != principal.organisation:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"申报 {application_id} 不存在")
        return app

    @api.post("/applications/{application_id}/materials", status_code=201, summary="Upload a material",
              description="Multipart: `file`, `kind`, `title`, optionally `replaces` (the id of the version it "
                          "replaces). PDF, JPEG, PNG, docx or xlsx, judged from the content.",
              responses={**errors(404, 409), 415: {"description": "不接受的文件类型"}},
              max_body_size=ctx.settings.material_max_bytes + 1024 * 1024)
    async def upload(
        application_id: str, principal: ApplicantCaller, request: Request, file: Annotated[UploadFile, File()],
        kind: Annotated[str, Form(max_length=50)], title: Annotated[str, Form(max_length=200)],
        replaces: Annotated[str | None, Form(max_length=40)] = None,
    ) -> MaterialRecord:
        app = await own(application_id, principal)
        item = Upload(kind=kind, title=_title(title), filename=file.filename or "", content=await file.read(),
                      replaces=replaces or None)
        try:
            return await materials.upload(ctx, app, principal, item, _audit(principal, request, "material.upload", app))
        except Refused as exc:
            raise _refused(exc) from None
        except TransitionRefused as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        except ValueError as exc:
            raise _bad("replaces", str(exc)) from None

    @api.get("/applications/{application_id}/materials", summary="An application's materials and versions",
             responses=errors(404))
    async def listing(application_id: str, principal: Caller) -> MaterialList:
        app = await readable(application_id, principal)
        return MaterialList(current=[m.id for m in app.materials], versions=await ctx.store.of_application(app.id))

    @api.get("/applications/{application_id}/materials/{material_id}", summary="Download a material (audited)",
             response_class=Response, responses={**errors(404), 200: {"content": {
                 "application/pdf": {}, "image/jpeg": {}, "image/png": {}, DOCX: {}, XLSX: {}}}})
    async def download(application_id: str, material_id: str, principal: Caller, request: Request) -> Response:
        app = await readable(application_id, principal)
        audit = _audit(principal, request, "material.download", app, target=("material", material_id))
        found = await materials.download(ctx, app, material_id, audit)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"材料 {material_id} 不存在")
        record, content = found
        return Response(content, media_type=record.media_type, headers={
            **SAFE_HEADERS, "Content-Disposition": content_disposition(record.filename)})

    @api.get("/applications/{application_id}/form.pdf", summary="The printable application form (申报书)",
             response_class=Response, responses={**errors(404), 200: {"content": {"application/pdf": {}}}})
    async def form(application_id: str, principal: Caller, request: Request) -> Response:
        app = await readable(application_id, principal)
        content = form_pdf(app, await ctx.repo.round(app.round_id), await ctx.store.of_application(app.id))
        await materials.record_read(ctx, _audit(principal, request, "form.download", app))
        return Response(content, media_type="application/pdf", headers={
            **SAFE_HEADERS, "Content-Disposition": content_disposition(f"申报书-{app.id}.pdf")})

    @api.delete("/applications/{application_id}", summary="Delete a never-submitted draft and its materials",
                responses=errors(404, 409))
    async def delete(application_id: str, principal: ApplicantCaller, request: Request) -> Deleted:
        app = await own(application_id, principal)
        try:
            removed = await materials.delete_draft(ctx, app, _audit(principal, request, "application.delete", app))
        except TransitionRefused as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return Deleted(id=app.id, materials=removed)

    return api


async def materials_missing(_request: Request, exc: Exception) -> JSONResponse:
    """A submission lacking required kinds: 422 with one entry per missing kind."""
    kinds = exc.kinds if isinstance(exc, MaterialsMissing) else []
    return JSONResponse({"detail": [
        {"loc": ["body", "materials", kind], "type": "missing_material", "msg": f"{exc}（缺少：{kind}）"}
        for kind in kinds]}, status_code=422)
