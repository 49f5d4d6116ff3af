"""Proof that a caller controls a phone number or e-mail address: notify checks a one-time code it sent
there and signs a short-lived token (EdDSA JWT) naming only a digest of the contact; the registry verifies
the signature with notify's public key. The code never leaves notify, and the token carries no address."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ISSUER = "zhongshi-notify"
AUDIENCE = "zhongshi-objection"
HEADER = "X-Contact-Proof"
_FOLDED = re.compile(r"[\s\-()（）]")


def contact_digest(contact: str) -> str:
    """The SHA-256 of the contact with spaces, hyphens and brackets removed and letters lower-cased."""
    return hashlib.sha256(_FOLDED.sub("", contact).lower().encode()).hexdigest()


def issue(key: Ed25519PrivateKey, digest: str, verification_id: str, now: datetime, ttl: timedelta) -> str:
    """A proof for the contact whose `contact_digest` is ``digest``, valid for ``ttl``."""
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": digest, "jti": verification_id,
              "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp())}
    return jwt.encode(claims, key, algorithm="EdDSA")


def verify(public_key: Ed25519PublicKey, token: str) -> dict[str, Any]:
    """The proof's claims; jwt.PyJWTError when forged, expired or meant for something else."""
    return dict(jwt.decode(token, public_key, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER))


def public_key_path(private_key_file: Path) -> Path:
    return private_key_file.with_suffix(".pub")


def load_private_key(path: Path, *, create: bool) -> Ed25519PrivateKey:
    """Notify's signing key; in development it is created (with its public key beside it) when missing."""
    if not path.exists():
        if not create:
            raise FileNotFoundError(f"contact proof key {path} is missing")
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
        public_key_path(path).write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return loaded


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key
