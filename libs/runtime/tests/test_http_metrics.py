"""Every service's HTTP requests are counted and timed by route template and status class (`ServiceKit.asgi`
instruments its app; tests/deploy/test_prometheus_live.py proves the series on the running services)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, HTTPException
from zhongshi_runtime.metrics import UNMATCHED, RuntimeMetrics, instrument

THING = "/things/{thing_id}"


def probe() -> tuple[RuntimeMetrics, httpx.AsyncClient]:
    app = FastAPI()

    @app.get(THING)
    async def thing(thing_id: str) -> dict[str, str]:
        if thing_id == "missing":
            raise HTTPException(404, "没有这个")
        return {"id": thing_id}

    @app.post("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/undocumented", include_in_schema=False)
    async def undocumented() -> None:
        return None

    metrics = RuntimeMetrics("probe")
    instrument(app, metrics)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return metrics, httpx.AsyncClient(transport=transport, base_url="http://probe")


def requests(metrics: RuntimeMetrics, method: str, route: str, status: str) -> float | None:
    return metrics.registry.get_sample_value(
        "zhongshi_http_requests_total", {"service": "probe", "method": method, "route": route, "status": status}
    )


async def test_requests_are_counted_by_route_template_and_status_class() -> None:
    metrics, client = probe()
    async with client:
        for path in ("/things/1", "/things/2", "/things/missing", "/nowhere/at/all", "/nowhere/else"):
            await client.get(path)
        assert (await client.post("/boom")).status_code == 500
        for made_up in ("BREW", "PROPFIND"):
            await client.request(made_up, "/things/1")

    assert requests(metrics, "GET", THING, "2xx") == 2  # one series for every thing, not one per id
    assert requests(metrics, "GET", THING, "4xx") == 1
    assert requests(metrics, "GET", UNMATCHED, "4xx") == 2
    assert requests(metrics, "POST", "/boom", "5xx") == 1  # the exception escaped the app: still counted
    assert requests(metrics, "OTHER", THING, "4xx") == 2  # 405: a made-up method makes no series of its own
    seconds = {"service": "probe", "method": "GET", "route": THING}
    assert metrics.registry.get_sample_value("zhongshi_http_request_seconds_count", seconds) == 3


def test_server_error_series_exist_at_zero_before_any_request() -> None:
    metrics, _ = probe()
    assert requests(metrics, "GET", THING, "5xx") == 0  # every operation of the OpenAPI document
    assert requests(metrics, "POST", "/boom", "5xx") == 0
    assert requests(metrics, "GET", "/undocumented", "5xx") is None
    assert requests(metrics, "GET", THING, "2xx") is None  # only the error series are made up front
