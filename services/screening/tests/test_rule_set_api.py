"""Adding a rule-set version: audited once with the official; an identical or conflicting post writes nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from zhongshi_runtime.auth import Role
from zhongshi_runtime.testing import InMemoryUnitOfWork, api_app, mint_test_token
from zhongshi_screening import api
from zhongshi_screening.metrics import ChainMetrics
from zhongshi_screening.repository import InMemoryScreeningRepository
from zhongshi_screening.rules import DEFAULT_RULE_SET
from zhongshi_screening.service import Deps

from .chain_fixtures import NOW


async def test_a_new_version_is_audited_and_a_repeat_or_conflict_is_not(tmp_path: Path) -> None:
    repo, uow = InMemoryScreeningRepository(), InMemoryUnitOfWork("screening")
    app = api_app(tmp_path, api.router)
    app.state.deps = Deps(repo, uow, lambda: NOW, ChainMetrics(CollectorRegistry()))
    token = mint_test_token(tmp_path, role=Role.PROVINCE_OFFICIAL, organisation="42", subject="u-wang")
    newer = DEFAULT_RULE_SET.model_copy(update={"version": "hubei-2027-v1"}).model_dump(mode="json")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        assert (await http.post("/api/v1/rule-sets", json=newer)).status_code == 201
        assert (await http.post("/api/v1/rule-sets", json=newer)).status_code == 201  # identical: nothing new
        conflicting = {**newer, "min_professionals": newer["min_professionals"] + 1}
        assert (await http.post("/api/v1/rule-sets", json=conflicting)).status_code == 409
    [record] = uow.audit
    assert (record.action, record.target_id, record.actor_subject, record.service) == (
        "rule_set.add", "hubei-2027-v1", "u-wang", "screening")
