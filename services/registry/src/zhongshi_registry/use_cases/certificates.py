"""Certificates (证书): a copy of an accredited platform's certificate signed on request, and the check of a
copy someone shows against the registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from zhongshi_runtime.clock import shanghai_date
from zhongshi_runtime.errors import must_exist

from zhongshi_registry.certificates import CertificateDocument, CertificateStatus, Verdict, verdict
from zhongshi_registry.entries import Entry, Status
from zhongshi_registry.use_cases import Deps


@dataclass(frozen=True)
class SignedCopy:
    document: CertificateDocument
    signature: str


def document_of(entry: Entry, *, key_id: str = "", issued_on: date | None = None) -> CertificateDocument:
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


async def signed_copy(deps: Deps, number: str) -> SignedCopy:
    """A copy of the certificate, signed today with the current key."""
    entry = must_exist(await deps.repo.entry_by_certificate(number), f"登记簿中没有证书 {number}")
    keys = deps.signer()
    document = document_of(entry, key_id=keys.key_id, issued_on=shanghai_date(deps.clock()))
    return SignedCopy(document, keys.sign(document))


async def check(deps: Deps, document: CertificateDocument, signature: str) -> Verdict:
    """Valid, revoked, unknown to the registry, or invalid (a bad signature, or content the registry disagrees with)."""
    entry = await deps.repo.entry_by_certificate(document.certificate_no)
    registered = document_of(entry) if entry else None
    return verdict(deps.signer(), document, signature, registered,
                   revoked=entry is not None and entry.status is Status.REVOKED)
