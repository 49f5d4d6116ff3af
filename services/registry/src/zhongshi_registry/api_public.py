"""The public read API (no login): the registry list, entry detail, statistics, certificates."""

from __future__ import annotations

import binascii
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ValidationError
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.errors import errors
from zhongshi_runtime.paging import Offset

from zhongshi_registry import public, statistics
from zhongshi_registry.cache import cached_response
from zhongshi_registry.certificate_pdf import certificate_pdf, decode_payload, verification_url
from zhongshi_registry.certificates import CertificateDocument, CertificateStatus, Signer, Verdict, verdict
from zhongshi_registry.entries import Entry, Status
from zhongshi_registry.repository import RegistryRepository


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


def router(repo: RegistryRepository, signer: Callable[[], Signer], clock: Clock, base_url: str = "",
           max_age_s: int = 5) -> APIRouter:
    api = APIRouter(prefix="/api/v1/public", tags=["public"])

    def cached(request: Request, produce: Callable[[], Awaitable[Any]]) -> Awaitable[Response]:
        return cached_response(request, repo.cache, max_age_s, produce)

    async def signed(number: str) -> SignedCertificate:
        entry = await by_certificate(number)
        if entry is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"登记簿中没有证书 {number}")
        keys = signer()
        document = document_of(entry, key_id=keys.key_id, issued_on=shanghai_date(clock()))
        return SignedCertificate(document=document, signature=keys.sign(document))

    async def check(document: CertificateDocument, signature: str) -> VerificationResult:
        entry = await by_certificate(document.certificate_no)
        registered = document_of(entry) if entry else None
        result = verdict(signer(), document, signature, registered,
                         revoked=entry is not None and entry.status is Status.REVOKED)
        return VerificationResult(result=result, message=MESSAGES[result])

    async def by_certificate(number: str) -> Entry | None:
        found = await repo.entries.find(certificate_no=number)
        return found[0] if found else None

    @api.get("/platforms", summary="Accredited platforms and cultivation objects, filtered and paged",
             responses=CACHED)
    async def platforms(request: Request, filters: Annotated[public.Filters, Query()],  # not Depends(): a thread hop
                        offset: Offset = 0,
                        limit: Annotated[int, Query(ge=1, le=200)] = 20) -> Response:
        async def produce() -> dict[str, Any]:
            total, entries = await repo.listing.page(filters, offset, limit)
            return public.page(total, entries, offset, limit)

        return await cached(request, produce)

    @api.get("/platforms/{platform_id}", summary="One registry entry", responses={**CACHED, **errors(404)})
    async def platform(request: Request, platform_id: str) -> Response:
        async def produce() -> dict[str, Any]:
            entry = await repo.entries.get(platform_id)
            if entry is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"登记簿中没有 {platform_id}")
            return public.published(entry)

        return await cached(request, produce)

    @api.get("/stats", summary="Progress toward the 2030 targets, by city, tier, cluster, type and year",
             responses=CACHED)
    async def stats(request: Request) -> Response:
        async def produce() -> dict[str, Any]:
            return statistics.stats(await repo.tallies.counts())

        return await cached(request, produce)

    @api.get("/certificates/{number}.pdf", summary="The printable certificate (证书) with its verification QR code",
             response_class=Response, responses={**errors(404), 200: {"content": {"application/pdf": {}}}})
    async def certificate_file(number: str, request: Request) -> Response:
        copy = await signed(number)
        url = verification_url(base_url or str(request.base_url), copy.document, copy.signature)
        name = quote(f"证书-{copy.document.platform_id}.pdf", safe="")
        return Response(certificate_pdf(copy.document, url), media_type="application/pdf", headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f"inline; filename=\"certificate.pdf\"; filename*=UTF-8''{name}"})

    @api.get("/certificates/{number}", summary="A signed certificate document",
             responses=errors(404))
    async def certificate(number: str) -> SignedCertificate:
        return await signed(number)

    @api.get("/certificates-key", summary="The public keys that verify certificate signatures, by key id")
    async def key() -> dict[str, Any]:
        keys = signer()
        return {"algorithm": "Ed25519", "key_id": keys.key_id, "public_key_pem": keys.public_pem(),
                "keys": keys.published()}

    @api.post("/certificates/verify", summary="Verify a certificate: valid, revoked, unknown or invalid")
    async def verify(body: SignedCertificate) -> VerificationResult:
        return await check(body.document, body.signature)

    @api.get("/certificate-verification", summary="Verify the signed copy a certificate's QR code carries")
    async def verify_scanned(c: Annotated[str, Query(max_length=4000)],
                             s: Annotated[str, Query(max_length=200)]) -> CertificateVerification:
        try:
            document, signature = decode_payload(c, s)
        except (ValueError, binascii.Error, ValidationError, json.JSONDecodeError):
            raise HTTPException(422, [{"loc": ["query", "c"], "type": "value_error",
                                       "msg": "二维码内容无法解析（不是本系统签发的证书）"}]) from None
        result = await check(document, signature)
        return CertificateVerification(**result.model_dump(), document=document)

    return api
