"""The public read API (no login): the registry list, entry detail, statistics, certificates."""

from __future__ import annotations

import binascii
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ValidationError
from zhongshi_runtime.clock import shanghai_date
from zhongshi_runtime.errors import NotFound, errors
from zhongshi_runtime.paging import Offset

from zhongshi_registry import public, statistics
from zhongshi_registry.cache import cached_response
from zhongshi_registry.certificate_pdf import certificate_pdf, decode_payload, verification_url
from zhongshi_registry.certificates import CertificateDocument, CertificateStatus, Verdict, verdict
from zhongshi_registry.deps import Ctx, Registry
from zhongshi_registry.entries import Entry, Status


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


def document_of(entry: Entry, *, key_id: str = "", issued_on: Any = None) -> CertificateDocument:
    """The signed copy of an entry's certificate: status as of ``issued_on`` (the accredited date if none)."""
    if entry.certificate_no is None or entry.accredited_on is None:
        raise ValueError(f"{entry.id} has no certificate")
    return CertificateDocument(certificate_no=entry.certificate_no, platform_id=entry.id,
                               platform_name=entry.platform_name, applicant_name=entry.applicant_name,
                               applicant_credit_code=entry.applicant_credit_code,
                               accredited_on=entry.accredited_on, round_id=entry.round_id, key_id=key_id,
                               issued_on=issued_on or entry.accredited_on,
                               status=CertificateStatus.REVOKED if entry.status is Status.REVOKED
                               else CertificateStatus.VALID)


CACHED: dict[int | str, dict[str, Any]] = {200: {"description": "JSON, with ETag and Cache-Control"},
                                           304: {"description": "Not modified (If-None-Match)"}}


router = APIRouter(prefix="/api/v1/public", tags=["public"])


def cached(reg: Registry, request: Request, produce: Callable[[], Awaitable[Any]]) -> Awaitable[Response]:
    return cached_response(request, reg.repo.cache, reg.settings.public_max_age_s, produce)


async def signed(reg: Registry, number: str) -> SignedCertificate:
    """A copy of the certificate, signed today with the current key."""
    entry = await reg.repo.entry_by_certificate(number)
    if entry is None:
        raise NotFound(f"登记簿中没有证书 {number}")
    keys = reg.signer()
    document = document_of(entry, key_id=keys.key_id, issued_on=shanghai_date(reg.clock()))
    return SignedCertificate(document=document, signature=keys.sign(document))


async def check(reg: Registry, document: CertificateDocument, signature: str) -> VerificationResult:
    entry = await reg.repo.entry_by_certificate(document.certificate_no)
    registered = document_of(entry) if entry else None
    result = verdict(reg.signer(), document, signature, registered,
                     revoked=entry is not None and entry.status is Status.REVOKED)
    return VerificationResult(result=result, message=MESSAGES[result])


@router.get("/platforms", summary="Accredited platforms and cultivation objects, filtered and paged",
            responses=CACHED)
async def platforms(request: Request, reg: Ctx,
                    filters: Annotated[public.Filters, Query()],  # not Depends(): a thread hop
                    offset: Offset = 0, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> Response:
    async def produce() -> dict[str, Any]:
        total, entries = await reg.repo.listing.page(filters, offset, limit)
        return public.page(total, entries, offset, limit)

    return await cached(reg, request, produce)


@router.get("/platforms/{platform_id}", summary="One registry entry", responses={**CACHED, **errors(404)})
async def platform(request: Request, platform_id: str, reg: Ctx) -> Response:
    async def produce() -> dict[str, Any]:
        entry = await reg.repo.entry(platform_id)
        if entry is None:
            raise NotFound(f"登记簿中没有 {platform_id}")
        return public.published(entry)

    return await cached(reg, request, produce)


@router.get("/stats", summary="Progress toward the 2030 targets, by city, tier, cluster, type and year",
            responses=CACHED)
async def stats(request: Request, reg: Ctx) -> Response:
    async def produce() -> dict[str, Any]:
        return statistics.stats(await reg.repo.tallies.counts())

    return await cached(reg, request, produce)


@router.get("/certificates/{number}.pdf", summary="The printable certificate (证书) with its verification QR code",
            response_class=Response, responses={**errors(404), 200: {"content": {"application/pdf": {}}}})
async def certificate_file(number: str, request: Request, reg: Ctx) -> Response:
    copy = await signed(reg, number)
    url = verification_url(reg.settings.public_base_url or str(request.base_url), copy.document, copy.signature)
    name = quote(f"证书-{copy.document.platform_id}.pdf", safe="")
    return Response(certificate_pdf(copy.document, url), media_type="application/pdf", headers={
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f"inline; filename=\"certificate.pdf\"; filename*=UTF-8''{name}"})


@router.get("/certificates/{number}", summary="A signed certificate document", responses=errors(404))
async def certificate(number: str, reg: Ctx) -> SignedCertificate:
    return await signed(reg, number)


@router.get("/certificates-key", summary="The public keys that verify certificate signatures, by key id")
async def key(reg: Ctx) -> dict[str, Any]:
    keys = reg.signer()
    return {"algorithm": "Ed25519", "key_id": keys.key_id, "public_key_pem": keys.public_pem(),
            "keys": keys.published()}


@router.post("/certificates/verify", summary="Verify a certificate: valid, revoked, unknown or invalid")
async def verify(body: SignedCertificate, reg: Ctx) -> VerificationResult:
    return await check(reg, body.document, body.signature)


@router.get("/certificate-verification", summary="Verify the signed copy a certificate's QR code carries")
async def verify_scanned(c: Annotated[str, Query(max_length=4000)], s: Annotated[str, Query(max_length=200)],
                         reg: Ctx) -> CertificateVerification:
    try:
        document, signature = decode_payload(c, s)
    except (ValueError, binascii.Error, ValidationError, json.JSONDecodeError):
        raise HTTPException(422, [{"loc": ["query", "c"], "type": "value_error",
                                   "msg": "二维码内容无法解析（不是本系统签发的证书）"}]) from None
    result = await check(reg, document, signature)
    return CertificateVerification(**result.model_dump(), document=document)
