"""Verifiable certificates: Ed25519 over the canonical JSON of the certificate document.

A signed copy names the key that signed it (``key_id``), the date it was issued and the accreditation's status
on that date. Retired public keys stay published, so a copy signed before a key rotation still verifies."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date
from enum import StrEnum
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field


class CertificateStatus(StrEnum):
    VALID = "valid"  # 有效
    REVOKED = "revoked"  # 已撤销


class CertificateDocument(BaseModel):
    """What is signed: the registry's seven fields, then the signing key, the issue date and the status."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    certificate_no: str
    platform_id: str
    platform_name: str
    applicant_name: str
    applicant_credit_code: str
    accredited_on: date
    round_id: str
    key_id: str = Field(description="The key that signed this copy (see the published keys).")
    issued_on: date = Field(description="The date this copy was issued (Asia/Shanghai); its status is as of then.")
    status: CertificateStatus

    def registration(self) -> dict[str, object]:
        """The fields the registry holds, without those of the signed copy."""
        return self.model_dump(exclude={"key_id", "issued_on", "status"})


class Verdict(StrEnum):
    VALID = "valid"  # 有效
    REVOKED = "revoked"  # 已撤销 (signature good, accreditation revoked)
    UNKNOWN = "unknown"  # 证书编号不在登记簿中
    INVALID = "invalid"  # 签名不符（被篡改）或与登记内容不一致


def canonical(document: CertificateDocument) -> bytes:
    """Sorted keys, no whitespace, ensure_ascii False, UTF-8; dates as ISO 8601."""
    return json.dumps(document.model_dump(mode="json"), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def key_id_of(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519-" + hashlib.sha256(raw).hexdigest()[:16]


def pem_of(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Signer:
    """The current signing key and the retired public keys that still verify what they signed."""

    def __init__(self, key: Ed25519PrivateKey, retired: list[Ed25519PublicKey] | None = None) -> None:
        self.key = key
        self.keys = {key_id_of(k): k for k in [*(retired or []), key.public_key()]}

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.key.public_key()

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def public_pem(self) -> str:
        return pem_of(self.public_key)

    def published(self) -> list[dict[str, object]]:
        """Every key that verifies certificates, the current one last."""
        return [{"key_id": kid, "public_key_pem": pem_of(k), "current": kid == self.key_id}
                for kid, k in self.keys.items()]

    def sign(self, document: CertificateDocument) -> str:
        if document.key_id != self.key_id:
            raise ValueError(f"document names key {document.key_id}, the signing key is {self.key_id}")
        return base64.b64encode(self.key.sign(canonical(document))).decode()

    def signature_holds(self, document: CertificateDocument, signature: str) -> bool:
        key = self.keys.get(document.key_id)
        if key is None:
            return False
        try:
            key.verify(base64.b64decode(signature, validate=True), canonical(document))
        except (InvalidSignature, ValueError):
            return False
        return True

    @classmethod
    def from_file(cls, path: Path, *, create: bool, retired_dir: Path | None = None) -> Signer:
        """Load the PEM key at ``path`` (in development create it when missing) and the retired public keys
        (``*.pem``) in ``retired_dir``."""
        if not path.exists():
            if not create:
                raise FileNotFoundError(f"证书签名密钥 {path} 不存在")
            _write_private(path, Ed25519PrivateKey.generate())
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} 不是 Ed25519 私钥")
        retired = []
        for pem in sorted(retired_dir.glob("*.pem")) if retired_dir and retired_dir.is_dir() else []:
            public = serialization.load_pem_public_key(pem.read_bytes())
            if isinstance(public, Ed25519PublicKey):
                retired.append(public)
        return cls(key, retired)


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def rotate(path: Path, retired_dir: Path) -> str:
    """Retire the key at ``path`` (its public half stays published from ``retired_dir``) and create a new
    one there; the new key id. The service signs with the new key once restarted."""
    old = Signer.from_file(path, create=False)
    retired_dir.mkdir(parents=True, exist_ok=True)
    (retired_dir / f"{old.key_id}.pem").write_text(old.public_pem())
    _write_private(path, Ed25519PrivateKey.generate())
    return Signer.from_file(path, create=False).key_id


def verdict(signer: Signer, presented: CertificateDocument, signature: str,
            registered: CertificateDocument | None, revoked: bool) -> Verdict:
    """Unknown number → unknown; bad signature or mismatch with the registry → invalid; then revoked (now, or
    on the copy itself) or valid."""
    if registered is None:
        return Verdict.UNKNOWN
    if not signer.signature_holds(presented, signature) or presented.registration() != registered.registration():
        return Verdict.INVALID
    return Verdict.REVOKED if revoked or presented.status is CertificateStatus.REVOKED else Verdict.VALID
