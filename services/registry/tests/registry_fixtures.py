"""Builders for registry tests: decisions and profiles from sample dossiers, an API client over fakes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.reference import region
from zhongshi_contracts.review import Decision
from zhongshi_registry.domain import DecisionRecord, Profile
from zhongshi_registry.repository import RegistryRepository
from zhongshi_runtime.auth import Role
from zhongshi_runtime.testing import InMemoryUnitOfWork, mint_test_token

DECIDED = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def decision_of(dossier: Dossier, app_id: str, kind: Decision, rank: int, round_id: str = "R1") -> DecisionRecord:
    return DecisionRecord(application_id=app_id, round_id=round_id, decision=kind, score=Decimal(90 - rank),
                          rank=rank, platform_name=dossier.platform.name, applicant_name=dossier.applicant.name,
                          applicant_credit_code=dossier.applicant.credit_code,
                          region_code=dossier.applicant.region_code,
                          city_code=region(dossier.applicant.region_code).city_code, decided_at=DECIDED)


def profile_of(dossier: Dossier, app_id: str, round_id: str = "R1") -> Profile:
    p = dossier.platform
    return Profile(application_id=app_id, round_id=round_id, platform_type=p.platform_type, clusters=p.clusters,
                   service_kinds=p.service_kinds, equipment_original_value=p.equipment_original_value,
                   professionals=p.professionals.total)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Client:
    def __init__(self, keys: Path, http: httpx.AsyncClient, repo: RegistryRepository, uow: InMemoryUnitOfWork,
                 clock: Clock) -> None:
        self.keys, self.http, self.repo, self.uow, self.clock = keys, http, repo, uow, clock

    async def as_(self, role: Role, scope: str, method: str, path: str, **kw: Any) -> httpx.Response:
        token = mint_test_token(self.keys, role=role, organisation=scope)
        return await self.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)

    async def province(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.as_(Role.PROVINCE_OFFICIAL, "42", method, path, **kw)

    def published(self, topic: str) -> list[Any]:
        return [e for e in self.uow.published if e.topic.name == topic]
