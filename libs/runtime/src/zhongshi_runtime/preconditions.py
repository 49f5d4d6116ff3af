"""The HTTP side of optimistic concurrency: a versioned record is read with an ``ETag`` and written with
``If-Match``; a write over a version that is no longer stored answers 412 (409 when the client sent no
``If-Match`` and the server's own read went stale). The compare-and-set itself is `zhongshi_runtime.store`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Request, Response
from fastapi.responses import JSONResponse

from zhongshi_runtime.store import StaleWrite

IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200,
                                       description="The ETag read; the write is refused with 412 if it is stale.")]


def etag(version: int) -> str:
    """The strong entity tag of a record at ``version``."""
    return f'"{version}"'


def tag(response: Response, version: int) -> None:
    """Send the record's version as its ``ETag``."""
    response.headers["ETag"] = etag(version)


def expect(if_match: str | None, key: str, version: int) -> None:
    """Refuse (`StaleWrite`, then 412) unless ``If-Match`` is absent, ``*`` or names ``version``."""
    if if_match is None:
        return
    tags = {t.strip() for t in if_match.split(",")}
    if "*" not in tags and etag(version) not in tags:  # weak tags (W/"…") never match: RFC 9110 §13.1.1
        raise StaleWrite(key)


async def stale_write(request: Request, exc: Exception) -> JSONResponse:
    """A `StaleWrite` as the client sees it: 412 when it sent If-Match, else 409 — either way, re-read."""
    detail: Any = "记录已被他人修改，请重新读取后再提交"
    if "if-match" in request.headers:
        return JSONResponse({"detail": detail + "（If-Match 与当前版本不一致）"}, status_code=412)
    return JSONResponse({"detail": detail}, status_code=409)
