"""Application materials (申报材料): the applicant's list by kind with upload and replace, and downloads of the
materials and the printable form for whoever may read the application (intake decides, with the user's token)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from zhongshi_contracts.materials import MATERIAL_KINDS, kind_label
from zhongshi_runtime.auth import Role

from zhongshi_console.clients import BackendError, Backends, missing_as
from zhongshi_console.deps import Wired
from zhongshi_console.roles import Caller, signed_in

API = "/api/v1"
Reader = Annotated[Caller, Depends(signed_in(*Role))]  # intake answers 404 to whoever may not read it
REFUSALS = (409, 413, 415, 422)  # shown beside the upload form; anything else is the error page
READ_AT_MOST = 25 * 1024 * 1024  # a memory guard above intake's own limit (20 MiB), which gives the exact refusal
PASSED_ON = ("content-type", "content-disposition", "content-length", "x-content-type-options", "cache-control")


async def rows(backends: Backends, token: str, application_id: str, required: list[str] | None = None,
               declared: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per kind: the round's required kinds, the mechanism documents C9 asks for, then any other upload;
    each with its current version and the earlier ones."""
    listing = await backends.call("intake", "GET", f"{API}/applications/{application_id}/materials", token)
    current = set(listing["current"])
    required, declared = required or [], declared or []
    kinds = [*required, *(k for k in declared if k not in required)]
    kinds += [v["kind"] for v in listing["versions"] if v["kind"] not in kinds and v["id"] in current]
    found = []
    for kind in dict.fromkeys(kinds):
        versions = sorted((v for v in listing["versions"] if v["kind"] == kind), key=lambda v: -int(v["version"]))
        now = [v for v in versions if v["id"] in current]
        found.append({"kind": kind, "label": kind_label(kind), "required": kind in required,
                      "mechanism": kind in declared and kind not in required, "current": now,
                      "earlier": [v for v in versions if v["id"] not in current]})
    return found


async def readable_rows(backends: Backends, token: str, application_id: str) -> list[dict[str, Any]] | None:
    """The rows for an official or an expert; None while intake does not (yet) let them read the materials."""
    return await missing_as(rows(backends, token, application_id), None)


def declared_kinds(app: dict[str, Any]) -> list[str]:
    """The mechanism documents (C9) the dossier says it has."""
    return [d["kind"] for d in app["dossier"]["platform"].get("mechanism_documents", [])]


def uploaded_kinds(material_rows: list[dict[str, Any]]) -> list[str]:
    """The kinds with a current upload: what screening's C9 rests on."""
    return [row["kind"] for row in material_rows if row["current"]]


async def upload(backends: Backends, request: Request, application_id: str, caller: Caller) -> dict[str, Any] | None:
    """Forward the posted file to intake with the user's token; its refusal (kind, Chinese message, status) or None."""
    form = await request.form()
    kind, title, replaces = (str(form.get(k, "")).strip() for k in ("kind", "title", "replaces"))
    file = form.get("file")
    problem = refusal_before_sending(kind, file)
    if problem is None and isinstance(file, UploadFile):
        try:
            await backends.call("intake", "POST", f"{API}/applications/{application_id}/materials", caller.token,
                                files={"file": (file.filename, await file.read(), file.content_type)},
                                data={"kind": kind, "title": title or kind_label(kind),
                                      **({"replaces": replaces} if replaces else {})})
        except BackendError as exc:
            if exc.status not in REFUSALS:
                raise
            problem = exc.status, next(iter(exc.fields.values())) if exc.fields else exc.message
    return None if problem is None else {"kind": kind, "title": title, "status": problem[0], "message": problem[1]}


api = APIRouter(include_in_schema=False)


@api.get("/certificates/{number}.pdf")
async def certificate(number: str, backends: Wired) -> Response:
    """The printable certificate with its QR code (public, like the registry's)."""
    return await passed_on(backends, f"{API}/public/certificates/{quote(number, safe='')}.pdf", None, "registry")


@api.get("/materials/{application_id}/form.pdf")
async def form_pdf(application_id: str, caller: Reader, backends: Wired) -> Response:
    return await passed_on(backends, f"{API}/applications/{application_id}/form.pdf", caller.token)


@api.get("/materials/{application_id}/{material_id}")
async def download(application_id: str, material_id: str, caller: Reader, backends: Wired) -> Response:
    return await passed_on(backends, f"{API}/applications/{application_id}/materials/{material_id}", caller.token)


def refusal_before_sending(kind: str, file: object) -> tuple[int, str] | None:
    if kind not in MATERIAL_KINDS:
        return 422, "请选择材料类别"
    if not isinstance(file, UploadFile) or not file.filename:
        return 422, "请选择要上传的文件"
    if file.size is not None and file.size > READ_AT_MOST:
        return 413, "文件过大：单个文件不得超过 20 MB"  # true of any file above the guard
    return None


async def passed_on(backends: Backends, path: str, token: str | None, service: str = "intake") -> Response:
    """A service's download streamed through with its headers (type, attachment name, nosniff, no-store)."""
    response = await backends.stream(service, path, token)
    headers = {k: v for k, v in response.headers.items() if k.lower() in PASSED_ON}
    return StreamingResponse(response.aiter_bytes(), status_code=200, headers=headers,
                             background=BackgroundTask(response.aclose))
