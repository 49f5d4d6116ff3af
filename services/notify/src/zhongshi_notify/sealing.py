"""Webhook signing secrets at rest: sealed with Fernet under a key from settings (NOTIFY_WEBHOOK_SECRET_KEY).

Several comma-separated keys rotate the key: the first seals, every one opens. A secret stored before sealing
existed (no ``fernet:`` prefix) is read as it is and sealed by `MongoDeliveryStore.seal_secrets` at start-up."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"
# Development only (NotifySettings refuses it elsewhere): sealing works the same, the key is public.
DEVELOPMENT_KEY = "ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZHVjdGk="


class SecretBox:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("no key to seal webhook secrets with")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])

    @classmethod
    def development(cls) -> SecretBox:
        return cls(DEVELOPMENT_KEY)

    def seal(self, secret: str) -> str:
        return PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        if not sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise ValueError("a webhook secret was sealed with a key not in NOTIFY_WEBHOOK_SECRET_KEY") from None


def sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)
