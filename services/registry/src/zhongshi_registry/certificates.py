"""Verifiable certificates: Ed25519 over the canonical JSON of the certificate document."""

from __future__ import annotations

import base64
import json
from datetime import date
from enum import StrEnum
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict


class CertificateDocument(BaseModel):
    """What is signed: exactly these seven fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    certificate_no: str
    platform_id: str
    platform_name: str
    applicant_name: str
    applicant_credit_code: str
    accredited_on: date
    round_id: str


class Verdict(StrEnum):
    VALID = "valid"  # 有效
    REVOKED = "revoked"  # 已撤销 (signature good, accreditation revoked)
    UNKNOWN = "unknown"  # 证书编号不在登记簿中
    INVALID = "invalid"  # 签名不符（被篡改）或与登记内容不一致


def canonical(document: CertificateDocument) -> bytes:
    """Sorted keys, no whitespace, ensure_ascii False, UTF-8; dates as ISO 8601."""
    return json.dumps(document.model_dump(mode="json"), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


class Signer:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.key.public_key()

    def public_pem(self) -> str:
        return self.public_key.public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def sign(self, document: CertificateDocument) -> str:
        return base64.b64encode(self.key.sign(canonical(document))).decode()

    def signature_holds(self, document: CertificateDocument, signature: str) -> bool:
        try:
            self.public_key.verify(base64.b64decode(signature, validate=True), canonical(document))
        except (InvalidSignature, ValueError):
            return False
        return True

    @classmethod
    def from_file(cls, path: Path, *, create: bool) -> Signer:
        """Load the PEM key at ``path``; in development create it when missing."""
        if not path.exists():
            if not create:
                raise FileNotFoundError(f"证书签名密钥 {path} 不存在")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
            path.chmod(0o600)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} 不是 Ed25519 私钥")
        return cls(key)


def verdict(signer: Signer, presented: CertificateDocument, signature: str,
            registered: CertificateDocument | None, revoked: bool) -> Verdict:
    """Unknown number → unknown; bad signature or mismatch with the registry → invalid; then revoked/valid."""
    if registered is None:
        return Verdict.UNKNOWN
    if not signer.signature_holds(presented, signature) or presented != registered:
        return Verdict.INVALID
    return Verdict.REVOKED if revoked else Verdict.VALID
