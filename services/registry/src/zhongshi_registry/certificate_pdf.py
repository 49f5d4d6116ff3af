"""The certificate (证书) as a PDF, with a QR code leading to its public verification.

The QR code's URL carries the signed copy itself (canonical JSON and signature, base64url): opened, the
registry reports the certificate's current status; read offline, the payload verifies with the published key
named by its ``key_id``."""

from __future__ import annotations

import base64
import io
import json
from urllib.parse import urlencode

import segno
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, Spacer
from zhongshi_runtime.pdf import para, render, table

from zhongshi_registry.certificates import CertificateDocument, CertificateStatus, canonical

VERIFY_PATH = "/api/v1/public/certificate-verification"
STATUS_LABELS = {CertificateStatus.VALID: "有效", CertificateStatus.REVOKED: "已撤销"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verification_url(base: str, document: CertificateDocument, signature: str) -> str:
    """The public verification URL of this signed copy."""
    query = urlencode({"c": b64url(canonical(document)), "s": b64url(base64.b64decode(signature))})
    return f"{base.rstrip('/')}{VERIFY_PATH}?{query}"


def decode_payload(c: str, s: str) -> tuple[CertificateDocument, str]:
    """The signed copy and its (standard base64) signature from a verification URL's parameters."""
    document = CertificateDocument.model_validate(json.loads(from_b64url(c)))
    return document, base64.b64encode(from_b64url(s)).decode()


def _qr(url: str) -> Image:
    png = io.BytesIO()
    segno.make(url, error="m").save(png, kind="png", scale=4, border=4)
    png.seek(0)
    return Image(png, width=55 * mm, height=55 * mm)


def certificate_pdf(document: CertificateDocument, url: str) -> bytes:
    """The printable certificate of ``document`` whose QR code encodes ``url``."""
    rows = [["证书编号", document.certificate_no], ["平台名称", document.platform_name],
            ["依托单位", document.applicant_name], ["统一社会信用代码", document.applicant_credit_code],
            ["认定日期", document.accredited_on.isoformat()], ["认定批次", document.round_id],
            ["证书状态", f"{STATUS_LABELS[document.status]}（截至{document.issued_on.isoformat()}）"],
            ["签发日期", document.issued_on.isoformat()], ["签名密钥", document.key_id]]
    story: list[Flowable] = [
        para("湖北省制造业中试平台", "title"), para("认 定 证 书", "title"), Spacer(1, 8),
        para(f"{document.applicant_name}建设运营的“{document.platform_name}”，经申报、审核、专家评审和公示，"
             f"于{document.accredited_on.isoformat()}认定为湖北省制造业中试平台。"),
        Spacer(1, 8), table(rows, [40, 134]), Spacer(1, 10), _qr(url),
        para("扫描二维码可核验本证书的真伪及当前状态。二维码内含本证书的签名内容，也可使用公布的公钥离线核验；"
             "离线核验只能证明签发日期当日的状态，证书是否已被撤销以在线核验结果为准。", "small"),
    ]
    return render(story, title=f"证书 {document.certificate_no}", subject=document.platform_name)
