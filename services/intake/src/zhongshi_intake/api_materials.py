"""Intake's materials API: upload, list and download an application's materials, its printable form, and
deleting a draft with its materials. Use cases live in `materials`; these routes only translate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import Principal, Role, current_principal, require
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import record_read

from zhongshi_intake import materials
from zhongshi_intake.api import Wired
from zhongshi_intake.domain import Application, MaterialsMissing
from zhongshi_intake.form_pdf import form_pdf
from zhongshi_intake.material_store import MaterialRecord
from zhongshi_intake.materials import Materials, Upload
from zhongshi_intake.sniff import DOCX, XLSX, Refused, content_disposition


def materials_of(deps: Wired) -> Materials:
    """The material use cases' dependencies (part of intake's `Deps`)."""
    if deps.materials is None:
        raise RuntimeError("intake was built without its material store")
    return deps.materials


MaterialsWired = Annotated[Materials, Depends(materials_of)]
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


def _title(title: str) -> str:
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in title):
        raise _bad("title", "标题不得包含控制字符")
    return title.strip() or "未命名材料"


def _audit(principal: Principal, request: Request, action: str, app: Application,
           target: tuple[str, str] | None = None) -> Audit:
    kind, target_id = target or ("application", app.id)
    return Audit.request(principal, request, action, kind, target_id, application_ids=[app.id], round_id=app.round_id)


router = APIRouter(prefix="/api/v1", tags=["materials"])
uploads = APIRouter(prefix="/api/v1", tags=["materials"])  # under its own body limit (`limited`)


def limited(max_bytes: int) -> APIRouter:
    """The upload route under a body limit of ``max_bytes`` (a deployment setting) plus the form's overhead."""
    outer = APIRouter()
    outer.include_router(uploads, max_body_size=max_bytes + 1024 * 1024)
    return outer


@uploads.post("/applications/{application_id}/materials", status_code=201, summary="Upload a material",
              description="Multipart: `file`, `kind`, `title`, optionally `replaces` (the id of the version it "
                          "replaces). PDF, JPEG, PNG, docx or xlsx, judged from the content.",
              responses={**errors(404, 409), 415: {"description": "不接受的文件类型"}})
async def upload(
    application_id: str, principal: ApplicantCaller, request: Request, file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form(max_length=50)], title: Annotated[str, Form(max_length=200)], ctx: MaterialsWired,
    replaces: Annotated[str | None, Form(max_length=40)] = None,
) -> MaterialRecord:
    app = await materials.own(ctx, application_id, principal)
    item = Upload(kind=kind, title=_title(title), filename=file.filename or "", content=await file.read(),
                  replaces=replaces or None)
    return await materials.upload(ctx, app, principal, item, _audit(principal, request, "material.upload", app))


@router.get("/applications/{application_id}/materials", summary="An application's materials and versions",
            responses=errors(404))
async def listing(application_id: str, principal: Caller, ctx: MaterialsWired) -> MaterialList:
    app = await materials.readable(ctx, application_id, principal)
    return MaterialList(current=[m.id for m in app.materials], versions=await ctx.store.of_application(app.id))


@router.get("/applications/{application_id}/materials/{material_id}", summary="Download a material (audited)",
            response_class=Response, responses={**errors(404), 200: {"content": {
                "application/pdf": {}, "image/jpeg": {}, "image/png": {}, DOCX: {}, XLSX: {}}}})
async def download(application_id: str, material_id: str, principal: Caller, request: Request,
                   ctx: MaterialsWired) -> Response:
    app = await materials.readable(ctx, application_id, principal)
    audit = _audit(principal, request, "material.download", app, target=("material", material_id))
    record, content = await materials.download(ctx, app, material_id, audit)
    return Response(content, media_type=record.media_type, headers={
        **SAFE_HEADERS, "Content-Disposition": content_disposition(record.filename)})


@router.get("/applications/{application_id}/form.pdf", summary="The printable application form (申报书)",
            response_class=Response, responses={**errors(404), 200: {"content": {"application/pdf": {}}}})
async def form(application_id: str, principal: Caller, request: Request, ctx: MaterialsWired) -> Response:
    app = await materials.readable(ctx, application_id, principal)
    content = form_pdf(app, await ctx.repo.round(app.round_id), await ctx.store.of_application(app.id),
                       with_contact=principal.role is not Role.EXPERT)
    await record_read(ctx.uow, _audit(principal, request, "form.download", app))
    return Response(content, media_type="application/pdf", headers={
        **SAFE_HEADERS, "Content-Disposition": content_disposition(f"申报书-{app.id}.pdf")})


@router.delete("/applications/{application_id}", summary="Delete a never-submitted draft and its materials",
               responses=errors(404, 409))
async def delete(application_id: str, principal: ApplicantCaller, request: Request, ctx: MaterialsWired) -> Deleted:
    app = await materials.own(ctx, application_id, principal)
    removed = await materials.delete_draft(ctx, app, _audit(principal, request, "application.delete", app))
    return Deleted(id=app.id, materials=removed)


async def file_refused(_request: Request, exc: Exception) -> JSONResponse:
    """A file the service will not store: 415, or 422 naming the form field at fault."""
    assert isinstance(exc, Refused)
    if exc.status != 422:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)
    return JSONResponse({"detail": [{"loc": ["body", exc.field], "msg": exc.detail, "type": "value_error"}]},
                        status_code=422)


async def materials_missing(_request: Request, exc: Exception) -> JSONResponse:
    """A submission lacking required kinds: 422 with one entry per missing kind."""
    kinds = exc.kinds if isinstance(exc, MaterialsMissing) else []
    return JSONResponse({"detail": [
        {"loc": ["body", "materials", kind], "type": "missing_material", "msg": f"{exc}（缺少：{kind}）"}
        for kind in kinds]}, status_code=422)
