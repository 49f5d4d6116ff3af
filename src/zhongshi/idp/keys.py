"""The provider's RS256 signing keys, one PEM file each under ``var/idp/keys``: the newest signs, every key
present is published. Adding or deleting a file rotates the keys while the provider runs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ALGORITHM = "RS256"


def add_key(directory: Path) -> str:
    """Create a new signing key (it signs from now on); return its ``kid``."""
    directory.mkdir(parents=True, exist_ok=True)
    kid = f"rs256-{time.time_ns()}"  # sorts by creation, so the newest is last
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = directory / f"{kid}.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return kid


def remove_key(directory: Path, kid: str) -> None:
    """Withdraw a key: it is no longer published, so resource servers stop accepting its tokens."""
    (directory / f"{kid}.pem").unlink()


def ensure_key(directory: Path) -> None:
    if not list(directory.glob("*.pem")):
        add_key(directory)


class KeyStore:
    """The keys in ``directory``, re-read whenever the set of files changes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._names: list[str] = []
        self._keys: list[tuple[str, rsa.RSAPrivateKey]] = []

    def _current(self) -> list[tuple[str, rsa.RSAPrivateKey]]:
        names = sorted(n for n in os.listdir(self.directory) if n.endswith(".pem"))
        if names != self._names:
            loaded = []
            for name in names:
                key = serialization.load_pem_private_key((self.directory / name).read_bytes(), password=None)
                assert isinstance(key, rsa.RSAPrivateKey)
                loaded.append((name.removesuffix(".pem"), key))
            self._names, self._keys = names, loaded
        if not self._keys:
            raise RuntimeError(f"no signing key in {self.directory}")
        return self._keys

    def signing(self) -> tuple[str, rsa.RSAPrivateKey]:
        return self._current()[-1]

    def public(self, kid: str) -> rsa.RSAPublicKey | None:
        return next((key.public_key() for k, key in self._current() if k == kid), None)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self._current():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"})
        return {"keys": keys}
