"""The registry's use cases: plain async functions over `Deps`, taking their inputs and the `Audit` the route
built, returning domain objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zhongshi_runtime.clock import Clock
from zhongshi_runtime.outbox import UnitOfWork
from zhongshi_runtime.ratelimit import Limit, RateLimiter

from zhongshi_registry.certificates import Signer
from zhongshi_registry.entries import Thresholds
from zhongshi_registry.objectors import Identifier
from zhongshi_registry.repository import RegistryPort
from zhongshi_registry.settings import RegistrySettings

HOUR = 3600.0


@dataclass(frozen=True)
class Deps:
    """What the use cases need: the port, unit of work, clock, settings, certificate key and filing limits."""

    repo: RegistryPort
    uow: UnitOfWork
    clock: Clock
    settings: RegistrySettings
    signer: Callable[[], Signer]
    thresholds: Thresholds
    per_client: RateLimiter
    per_round: RateLimiter
    identifier: Identifier

    @classmethod
    def build(cls, repo: RegistryPort, uow: UnitOfWork, clock: Clock, settings: RegistrySettings,
              signer: Callable[[], Signer], thresholds: Thresholds) -> Deps:
        return cls(repo, uow, clock, settings, signer, thresholds,
                   per_client=RateLimiter(Limit(settings.objections_per_client_hour, HOUR)),
                   per_round=RateLimiter(Limit(settings.objections_per_round_hour, HOUR)),
                   identifier=Identifier(settings.contact_proof_public_key_file))
