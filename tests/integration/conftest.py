from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.integration.helpers import Api, fresh_credit_code
from zhongshi.launcher import Stack

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield Api(stack, http)


@pytest.fixture
def fresh_dossier(dossier_json: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """A passing dossier of a new applicant (unique credit code), with ``changes`` merged in."""

    def build(index: int = 0, **changes: Any) -> dict[str, Any]:
        from datetime import date

        from zhongshi_runtime.clock import shanghai_date, utc_now

        today: date = shanghai_date(utc_now())
        d = dossier_json(index, today, **changes)
        d["applicant"]["credit_code"] = fresh_credit_code(d["applicant"])
        return d

    return build
