"""What the registry's routes depend on, built once by the factory and handed to each route by `Depends`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.clock import Clock
from zhongshi_runtime.outbox import UnitOfWork
from zhongshi_runtime.ratelimit import Limit, RateLimiter

from zhongshi_registry.certificates import Signer
from zhongshi_registry.entries import Thresholds
from zhongshi_registry.objectors import Identifier
from zhongshi_registry.repository import RegistryRepository
from zhongshi_registry.settings import RegistrySettings

HOUR = 3600.0


@dataclass
class Registry:
    """The registry's repository, unit of work, clock and settings, and the limits its public routes keep."""

    repo: RegistryRepository
    uow: UnitOfWork
    clock: Clock
    settings: RegistrySettings
    signer: Callable[[], Signer]
    thresholds: Thresholds
    per_client: RateLimiter
    per_round: RateLimiter
    identifier: Identifier

    @classmethod
    def build(cls, repo: RegistryRepository, uow: UnitOfWork, clock: Clock, settings: RegistrySettings,
              signer: Callable[[], Signer], thresholds: Thresholds) -> Registry:
        return cls(repo, uow, clock, settings, signer, thresholds,
                   per_client=RateLimiter(Limit(settings.objections_per_client_hour, HOUR)),
                   per_round=RateLimiter(Limit(settings.objections_per_round_hour, HOUR)),
                   identifier=Identifier(settings.contact_proof_public_key_file))

    def serve(self, app: FastAPI) -> FastAPI:
        """Let ``app``'s routes reach this registry."""
        app.state.registry = self
        return app


def registry(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]  # set by `Registry.serve`


Ctx = Annotated[Registry, Depends(registry)]
Province = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
