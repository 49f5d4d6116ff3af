"""On the real database: a rubric change racing a round's first score sheet. Whatever the interleaving,
the round never ends with a sheet scored against a rubric other than its settings' (one of the two
requests is refused with a 409, or the sheet comes first and the change is refused)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from zhongshi_review import api, api_draws, api_review
from zhongshi_review.repository import ReviewRepository
from zhongshi_review.rubric import DEFAULT_RUBRIC
from zhongshi_review.service import Deps
from zhongshi_runtime.auth import Role
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.outbox import MongoUnitOfWork
from zhongshi_runtime.testing import api_app, mint_test_token

from .review_fixtures import NOW, candidate_of, expert
from .test_api import sheet

pytestmark = pytest.mark.integration
ROUNDS = 4


def auth(keys: Path, role: Role, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_test_token(keys, role=role, organisation=scope)}"}


async def test_a_rubric_change_racing_the_first_sheet_never_leaves_mixed_rubrics(
        tmp_path: Path, mongo_db: Any, make_dossier: Any) -> None:
    repo = ReviewRepository.mongo(mongo_db)
    uow = MongoUnitOfWork(mongo_db.client, mongo_db, source="/zhongshi/review", metrics=RuntimeMetrics("race"),
                          on_outbox=lambda: None)
    app = api_app(tmp_path, api.router, api_draws.router, api_review.router)
    app.state.deps = Deps(repo, uow, lambda: NOW)
    for n in range(5):
        await repo.experts.put(f"E{n:03d}", expert(n, ["laser"]))
    province = auth(tmp_path, Role.PROVINCE_OFFICIAL, "42")
    other = DEFAULT_RUBRIC.model_copy(update={"version": "raced-v2"}).model_dump(mode="json")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=60) as http:
        for n in range(ROUNDS):
            round_id = f"RACE{n}"
            await repo.candidates.put(f"A{n}", candidate_of(make_dossier(), f"A{n}", round_id=round_id))
            assert (await http.post(f"/api/v1/rounds/{round_id}/draw-commitment", headers=province)).status_code == 201
            [panel] = (await http.post(f"/api/v1/rounds/{round_id}/panels", json={}, headers=province)).json()
            me = auth(tmp_path, Role.EXPERT, panel["experts"][0])
            change, score = await asyncio.gather(
                http.put(f"/api/v1/rounds/{round_id}/review-settings", headers=province,
                         json={"round_id": round_id, "rubric": other}),
                http.post(f"/api/v1/assignments/A{n}/score", headers=me, json=sheet(7)))
            assert {change.status_code, score.status_code} <= {200, 409}, (change.text, score.text)
            settings = await repo.settings.get(round_id)
            version = settings.rubric.version if settings else DEFAULT_RUBRIC.version
            sheets = list((await repo.scores.many([f"A{n}/{panel['experts'][0]}"])).values())
            assert all(s.rubric_version == version for s in sheets), (version, sheets)
            assert (score.status_code == 200) == bool(sheets)
