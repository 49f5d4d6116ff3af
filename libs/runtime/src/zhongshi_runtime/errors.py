"""The error bodies every service answers with, and their place in the OpenAPI documents.

A refusal is ``{"detail": "<why, in Chinese>"}`` (401, 403, 404, 409, 412, 413, 429); bad input is FastAPI's 422 whose
``detail[].loc`` names the field. A route declares its own refusals with ``responses=errors(404, 409)``; the
kit declares what it enforces itself on every operation (`document_kit_errors`): 401 where a token is needed,
403 where roles are named, 413 where there is a body."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY


class Refusal(Exception):
    """The current state does not allow what was asked (409); ``detail`` says why, in Chinese. Each service's own
    refusals subclass it, and the kit maps them all once (`refused`)."""

    status_code = 409

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(Refusal):
    """The record does not exist, or is outside the caller's scope (404, never saying which)."""

    status_code = 404


T = TypeVar("T")


def must_exist(record: T | None, detail: str) -> T:
    """The record read, or `NotFound` with ``detail`` when there is none."""
    if record is None:
        raise NotFound(detail)
    return record


async def refused(request: Request, exc: Exception) -> JSONResponse:
    """A `Refusal` as the client sees it."""
    assert isinstance(exc, Refusal)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


class Problem(BaseModel):
    """A refusal, with its reason in Chinese."""

    detail: str = Field(examples=["申报 A-1 不存在"])


DESCRIPTIONS = {
    401: "缺少或无效的身份令牌（Bearer JWT）",
    403: "调用者的角色无权执行此操作",
    404: "记录不存在，或不在调用者的范围内（不透露其是否存在）",
    409: "当前状态不允许此操作（原因见 detail）",
    412: "If-Match 与当前版本不一致：记录已被他人修改，请重新读取后再提交",
    413: "请求体超过上限",
    429: "请求过于频繁：按 Retry-After 头所示的秒数后再试",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that refuses with these status codes."""
    return {code: {"model": Problem, "description": DESCRIPTIONS[code]} for code in codes}


def document_kit_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Declare, on every operation of an OpenAPI ``document``, the refusals the kit itself makes."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", Problem.model_json_schema())
    for path in document.get("paths", {}).values():
        for operation in path.values():
            codes = _kit_codes(operation)
            for code in codes:
                operation["responses"].setdefault(str(code), {
                    "description": DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                })
    return document


def _kit_codes(operation: dict[str, Any]) -> list[int]:
    codes = []
    requirements = operation.get("security", [])
    if requirements:
        codes.append(401)
    if any(roles for requirement in requirements for roles in requirement.values()):
        codes.append(403)  # `require(...)` names the roles as the requirement's scopes
    if "requestBody" in operation:
        codes.append(413)
    return codes


async def too_large(request: Request, exc: Exception) -> JSONResponse:
    """The 413 of the body limit (`HTTP_MAX_BODY_BYTES`, or a route's own), in the project's shape."""
    if isinstance(exc, HTTPException) and exc.detail != "Content Too Large":
        return JSONResponse({"detail": exc.detail}, status_code=413)  # a route's own refusal
    limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    detail = f"请求体超过上限（{limit} 字节）" if limit is not None else "请求体超过上限"
    return JSONResponse({"detail": detail}, status_code=413)


FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


async def unreadable_body(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI answers a body it cannot decode (bytes that are not UTF-8) with an English 400, and Starlette a
    malformed form (an upload) with another; each is bad input like any malformed JSON, so it gets the same 422
    naming the body."""
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        problem = [{"loc": ["body"], "msg": "请求体不是有效的表单数据（multipart/form-data）", "type": "form_invalid"}]
    elif isinstance(exc, HTTPException) and exc.detail != "There was an error parsing the body":
        return JSONResponse({"detail": exc.detail}, status_code=400)
    else:
        problem = [{"loc": ["body"], "msg": "请求体不是有效的 JSON（须为 UTF-8 编码）", "type": "json_invalid"}]
    return JSONResponse({"detail": problem}, status_code=422)
