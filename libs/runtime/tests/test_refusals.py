"""One refusal hierarchy, mapped to its status once by the kit; a request's work returns its result through the
unit of work."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from zhongshi_contracts.events import Event
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.errors import NotFound, Refusal
from zhongshi_runtime.outbox import Outcome, Session
from zhongshi_runtime.testing import InMemoryUnitOfWork, api_app

from .test_audit import OFFICIAL, request
from .test_outbox import withdrawn

pytestmark = pytest.mark.unit


class Closed(Refusal):
    """A service's own refusal, as each service declares them."""


def test_every_refusal_becomes_its_status_with_the_chinese_reason(tmp_path: Path) -> None:
    router = APIRouter()

    @router.get("/closed")
    async def closed() -> None:
        raise Closed("本轮申报已截止")

    @router.get("/missing")
    async def missing() -> None:
        raise NotFound("申报 A-1 不存在")

    with TestClient(api_app(tmp_path, router)) as http:
        assert (http.get("/closed").status_code, http.get("/closed").json()) == (409, {"detail": "本轮申报已截止"})
        assert (http.get("/missing").status_code, http.get("/missing").json()) == (404, {"detail": "申报 A-1 不存在"})


async def test_run_returns_the_work_s_value_and_publishes_its_events() -> None:
    uow = InMemoryUnitOfWork("probe")
    event: Event = withdrawn()

    async def work(_session: Session) -> Outcome[str]:
        return Outcome("A1", [event])

    value = await uow.run(work, audit=Audit.request(OFFICIAL, request(), "application.withdraw", "application", "A1"))
    assert value == "A1" and uow.published == [event] and len(uow.audit) == 1
