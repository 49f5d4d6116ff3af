"""Every service's HTTP requests are counted and timed by route template and status class."""

from __future__ import annotations

from typing import ClassVar

import httpx
from fastapi import APIRouter, HTTPException
from zhongshi_runtime.metrics import UNMATCHED
from zhongshi_runtime.service import ServiceKit
from zhongshi_runtime.settings import ServiceSettings

THING = "/things/{thing_id}"


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"


def probe() -> tuple[ServiceKit, httpx.AsyncClient]:
    router = APIRouter()

    @router.get(THING)
    async def thing(thing_id: str) -> dict[str, str]:
        if thing_id == "missing":
            raise HTTPException(404, "没有这个")
        return {"id": thing_id}

    @router.post("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    kit = ServiceKit(ProbeSettings(), title="probe", description="probe")
    app = kit.asgi([router])  # no lifespan: nothing connects
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return kit, httpx.AsyncClient(transport=transport, base_url="http://probe")


def requests(kit: ServiceKit, method: str, route: str, status: str) -> float | None:
    return kit.metrics.registry.get_sample_value(
        "zhongshi_http_requests_total", {"service": "probe", "method": method, "route": route, "status": status}
    )


async def test_requests_are_counted_by_route_template_and_status_class() -> None:
    kit, client = probe()
    async with client:
        for path in ("/things/1", "/things/2", "/things/missing", "/nowhere/at/all", "/nowhere/else"):
            await client.get(path)
        assert (await client.post("/boom")).status_code == 500

    assert requests(kit, "GET", THING, "2xx") == 2  # one series for every thing, not one per id
    assert requests(kit, "GET", THING, "4xx") == 1
    assert requests(kit, "GET", UNMATCHED, "4xx") == 2
    assert requests(kit, "POST", "/boom", "5xx") == 1  # the exception escaped the app: still counted
    seconds = {"service": "probe", "method": "GET", "route": THING}
    assert kit.metrics.registry.get_sample_value("zhongshi_http_request_seconds_count", seconds) == 3


def test_server_error_series_exist_at_zero_before_any_request() -> None:
    kit, _ = probe()
    assert requests(kit, "GET", THING, "5xx") == 0
    assert requests(kit, "GET", "/ready", "5xx") == 0  # every operation of the OpenAPI document
    assert requests(kit, "POST", "/boom", "5xx") == 0
    assert requests(kit, "GET", THING, "2xx") is None  # only the error series are made up front
