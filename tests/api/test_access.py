"""The access matrix (`access_table.py`) checked on a live stack: every endpoint of every service, as every
caller relative to an in-scope record; nothing out of scope is ever answered with its data."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api.access_table import CALLERS, HIDDEN, TABLE, Row
from tests.api.world import World
from tests.integration.helpers import Api
from zhongshi.launcher import SERVICES, Stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def world(api_stack: Stack) -> AsyncIterator[World]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield await World(Api(api_stack, http)).build()


def test_the_table_covers_every_operation_of_every_service(api_stack: Stack) -> None:
    documented = set()
    for service in SERVICES:
        paths = httpx.get(f"{api_stack.url(service)}/openapi.json", timeout=30).json()["paths"]
        documented |= {f"{service} {method.upper()} {path}" for path, ops in paths.items() if path.startswith("/api/")
                       for method in ops}
    listed = [row.id for row in TABLE]
    assert sorted(documented - set(listed)) == [], "operations without a row in access_table.py"
    assert sorted(set(listed) - documented) == [], "rows for operations no service documents"
    assert len(listed) == len(set(listed)), "an operation listed twice"


def _request(world: World, row: Row) -> tuple[str, dict[str, object]]:
    path = row.path
    for name, value in row.args.items():
        path = path.replace("{" + name + "}", world.resolve(value))
    kwargs: dict[str, object] = {"params": {k: world.resolve(v) for k, v in row.query.items()}}
    if row.body is not None:
        body = world.bodies[row.body]
        if isinstance(body, dict) and "files" in body:  # a multipart upload
            kwargs.update(body)
        else:
            kwargs["content" if isinstance(body, str) else "json"] = body
    return path, kwargs


@pytest.mark.parametrize("row", TABLE, ids=[row.id for row in TABLE])
async def test_the_access_matrix(world: World, row: Row) -> None:
    path, kwargs = _request(world, row)
    marker = world.resolve(row.see) if row.see else None
    granted = [c for c in CALLERS if row.expected(c) in (200, 201, 409, HIDDEN)]
    wrong = []
    for caller in sorted(CALLERS, key=lambda c: row.expected(c) in (200, 201, 409)):  # the allowed act last
        response = await world.call(row.method, row.service, path, world.caller(caller, row.record), **kwargs)
        expected = row.expected(caller)
        status = 200 if expected == HIDDEN else expected
        text = response.text if response.headers.get("content-type", "").startswith(("application/json", "text/"))\
            else response.content.decode("utf-8", "replace")
        if response.status_code != status:
            wrong.append(f"{caller}: {response.status_code} (expected {expected}) {text[:200]}")
        elif marker and expected == HIDDEN and marker in text:
            wrong.append(f"{caller}: LEAK — {marker} in a response outside its scope")
        elif marker and expected == 200 and marker not in text:
            wrong.append(f"{caller}: 200 without {marker}, which is in its scope")
    assert granted, "a row nobody may call"
    request = f"{row.method} {path} {json.dumps(kwargs, default=str, ensure_ascii=False)[:300]}"
    assert not wrong, f"{row.id} as\n" + "\n".join(wrong) + f"\n(request: {request})"
