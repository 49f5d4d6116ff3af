"""The public read API (no login): the registry list, entry detail, statistics, certificates."""

from __future__ import annotations

import binascii
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ValidationError
from zhongshi_runtime.errors import errors, must_exist
from zhongshi_runtime.paging import Offset

from zhongshi_registry import public, statistics
from zhongshi_registry.api import Wired
from zhongshi_registry.cache import Family, cached_response, key_of
from zhongshi_registry.certificate_pdf import certificate_pdf, decode_payload, verification_url
from zhongshi_registry.certificates import CertificateDocument, Verdict
from zhongshi_registry.use_cases import Deps
from zhongshi_registry.use_cases import certificates as use


class SignedCertificate(BaseModel):
    document: CertificateDocument
    signature: str
    algorithm: str = "Ed25519"


class VerificationResult(BaseModel):
    result: Verdict
    message: str


MESSAGES = {Verdict.VALID: "证书有效", Verdict.REVOKED: "证书签名有效，但该平台的认定已被撤销",
            Verdict.UNKNOWN: "登记簿中没有该证书编号",
            Verdict.INVALID: "签名校验失败或内容与登记簿不一致（证书可能被篡改）"}


class CertificateVerification(VerificationResult):
    document: CertificateDocument | None


def signed(copy: use.SignedCopy) -> SignedCertificate:
    return SignedCertificate(document=copy.document, signature=copy.signature)


def verification(result: Verdict) -> VerificationResult:
    return VerificationResult(result=result, message=MESSAGES[result])


CACHED: dict[int | str, dict[str, Any]] = {200: {"description": "JSON, with ETag and Cache-Control"},
                                           304: {"description": "Not modified (If-None-Match)"}}


router = APIRouter(prefix="/api/v1/public", tags=["public"])


def cached(deps: Deps, request: Request, produce: Callable[[], Awaitable[Any]],
           family: Family | None = None) -> Awaitable[Response]:
    return cached_response(request, deps.repo.cache, deps.settings.public_max_age_s, produce, family)


def entry_pages(deps: Deps, path: str) -> Family:
    """Every entry's detail response, read in one query (`ReadCache`: a family); ``path`` is one entry's."""
    folder = path.rsplit("/", 1)[0]

    async def members() -> AsyncIterator[tuple[str, Any]]:
        async for entry in deps.repo.each_entry():
            yield key_of(f"{folder}/{entry.id}"), public.published(entry)

    return Family("entry pages", members)


@router.get("/platforms", summary="Accredited platforms and cultivation objects, filtered and paged",
            responses=CACHED)
async def platforms(request: Request, deps: Wired,
                    filters: Annotated[public.Filters, Query()],  # not Depends(): a thread hop
                    offset: Offset = 0, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> Response:
    async def produce() -> dict[str, Any]:
        total, entries = await deps.repo.platforms_page(filters, offset, limit)
        return public.page(total, entries, offset, limit)

    return await cached(deps, request, produce)


@router.get("/platforms/{platform_id}", summary="One registry entry", responses={**CACHED, **errors(404)})
async def platform(request: Request, platform_id: str, deps: Wired) -> Response:
    async def produce() -> dict[str, Any]:
        entry = must_exist(await deps.repo.entry(platform_id), f"登记簿中没有 {platform_id}")
        return public.published(entry)

    return await cached(deps, request, produce, entry_pages(deps, request.url.path))


@router.get("/stats", summary="Progress toward the 2030 targets, by city, tier, cluster, type and year",
            responses=CACHED)
async def stats(request: Request, deps: Wired) -> Response:
    async def produce() -> dict[str, Any]:
        return statistics.stats(await deps.repo.statistics())

    return await cached(deps, request, produce)


@router.get("/certificates/{number}.pdf", summary="The printable certificate (证书) with its verification QR code",
            response_class=Response, responses={**errors(404), 200: {"content": {"application/pdf": {}}}})
async def certificate_file(number: str, request: Request, deps: Wired) -> Response:
    copy = await use.signed_copy(deps, number)
    url = verification_url(deps.settings.public_base_url or str(request.base_url), copy.document, copy.signature)
    name = quote(f"证书-{copy.document.platform_id}.pdf", safe="")
    return Response(certificate_pdf(copy.document, url), media_type="application/pdf", headers={
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f"inline; filename=\"certificate.pdf\"; filename*=UTF-8''{name}"})


@router.get("/certificates/{number}", summary="A signed certificate document", responses=errors(404))
async def certificate(number: str, deps: Wired) -> SignedCertificate:
    return signed(await use.signed_copy(deps, number))


@router.get("/certificates-key", summary="The public keys that verify certificate signatures, by key id")
async def key(deps: Wired) -> dict[str, Any]:
    keys = deps.signer()
    return {"algorithm": "Ed25519", "key_id": keys.key_id, "public_key_pem": keys.public_pem(),
            "keys": keys.published()}


@router.post("/certificates/verify", summary="Verify a certificate: valid, revoked, unknown or invalid")
async def verify(body: SignedCertificate, deps: Wired) -> VerificationResult:
    return verification(await use.check(deps, body.document, body.signature))


@router.get("/certificate-verification", summary="Verify the signed copy a certificate's QR code carries")
async def verify_scanned(c: Annotated[str, Query(max_length=4000)], s: Annotated[str, Query(max_length=200)],
                         deps: Wired) -> CertificateVerification:
    try:
        document, signature = decode_payload(c, s)
    except (ValueError, binascii.Error, ValidationError, json.JSONDecodeError):
        raise HTTPException(422, [{"loc": ["query", "c"], "type": "value_error",
                                   "msg": "二维码内容无法解析（不是本系统签发的证书）"}]) from None
    result = await use.check(deps, document, signature)
    return CertificateVerification(**verification(result).model_dump(), document=document)
