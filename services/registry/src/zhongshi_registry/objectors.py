"""Who files an objection: a logged-in person, or someone who proved a phone or e-mail with a one-time code
sent by notify. Anonymous filing is refused: any pending objection holds up the round's close."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials
from zhongshi_runtime import contact_proof
from zhongshi_runtime.audit import Actor
from zhongshi_runtime.oidc import Authenticator

VERIFIED_ROLE = "verified_contact"  # the audit role of an objector known only by a verified contact


@dataclass(frozen=True)
class Objector:
    key: str  # the durable identity the per-objector cap counts: person:<sub> or contact:<digest>
    actor: Actor  # as audited: the person, or the verification's id (never the address)


def _unidentified() -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, "提出异议须先登录，或通过短信/邮件验证码验证联系方式"
                         f"（{contact_proof.HEADER}）", headers={"WWW-Authenticate": "Bearer"})


class Identifier:
    """Identifies objectors; the proof key is read once, when the first proof arrives."""

    def __init__(self, public_key_file: str) -> None:
        self.public_key_file = Path(public_key_file)
        self._public: Ed25519PublicKey | None = None

    def _key(self) -> Ed25519PublicKey:
        if self._public is None:
            self._public = contact_proof.load_public_key(self.public_key_file)
        return self._public

    async def identify(self, request: Request, credentials: HTTPAuthorizationCredentials | None, proof: str | None,
                 contact: str) -> Objector:
        if credentials is not None:
            authenticator: Authenticator = request.app.state.authenticator
            try:
                person = await authenticator.verify(credentials.credentials)
            except jwt.PyJWTError:
                raise _unidentified() from None
            return Objector(f"person:{person.subject}", Actor.of(person))
        if not proof:
            raise _unidentified()
        try:
            claims = contact_proof.verify(self._key(), proof)
        except (jwt.PyJWTError, OSError):
            raise _unidentified() from None
        if claims["sub"] != contact_proof.contact_digest(contact):
            raise RequestValidationError([{"loc": ("body", "contact"), "type": "value_error",
                                           "msg": "联系方式与验证码验证的号码或邮箱不一致"}])
        verification = str(claims.get("jti", ""))
        return Objector(f"contact:{claims['sub']}",
                        Actor(f"verified:{verification}", VERIFIED_ROLE, "public", "已验证联系方式的公众"))
