"""Rule sets live in screening; each stored version is announced so intake can refuse rounds naming others."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from zhongshi_runtime.auth import Role
from zhongshi_runtime.testing import InMemoryUnitOfWork, api_app, mint_test_token
from zhongshi_screening import api, service
from zhongshi_screening.metrics import ChainMetrics
from zhongshi_screening.repository import InMemoryScreeningRepository
from zhongshi_screening.rules import DEFAULT_RULE_SET
from zhongshi_screening.service import Deps

from .chain_fixtures import NOW


async def test_a_new_version_is_announced_once_and_every_version_again_at_start(tmp_path: Path) -> None:
    repo, uow = InMemoryScreeningRepository(), InMemoryUnitOfWork()
    await repo.add_rule_set(DEFAULT_RULE_SET)
    app = api_app(tmp_path, api.router)
    app.state.deps = Deps(repo, uow, lambda: NOW, ChainMetrics(CollectorRegistry()))
    newer = DEFAULT_RULE_SET.model_copy(update={"version": "hubei-2027-v1", "title": "2027年版"})
    newer_json = newer.model_dump(mode="json")
    token = mint_test_token(tmp_path, role=Role.PROVINCE_OFFICIAL, organisation="42")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        for _ in range(2):  # the same content again: stored already, nothing new to announce
            r = await http.post("/api/v1/rule-sets", json=newer_json, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 201, r.text
    assert [e.version for e in uow.published] == ["hubei-2027-v1"]  # type: ignore[attr-defined]
    await service.announce_rule_sets(repo, uow, lambda: NOW)
    assert [e.application_id for e in uow.published[1:]] == [DEFAULT_RULE_SET.version, "hubei-2027-v1"]
