"""Public pages (no login): the registry, certificate verification, publicity (objections: `objections`),
progress."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, ValidationError
from zhongshi_contracts.review import DECISION_LABELS

from zhongshi_console.charts import Bar, bar_chart, progress_ring
from zhongshi_console.clients import Backends, missing_as
from zhongshi_console.deps import Wired
from zhongshi_console.formats import field_errors
from zhongshi_console.web import render

PAGE_SIZE = 20
# The registry's statuses with its glossary labels (registry: entries.STATUS_LABELS).
REGISTRY_STATUSES = {"accredited": "省级制造业中试平台", "warning": "限期整改", "cultivation": "培育对象",
                     "upgraded": "已获认定（原培育对象）", "revoked": "已撤销"}
PUBLIC = "/api/v1/public"


class RegistryFilters(BaseModel):
    city: str | None = Field(None, pattern=r"^\d{6}$")
    cluster: str | None = Field(None, max_length=40)
    type: str | None = Field(None, max_length=40)
    status: str | None = Field(None, max_length=20)
    q: str | None = Field(None, max_length=100)
    offset: int = Field(0, ge=0, le=100_000)

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v not in (None, "")}


def blank_to_none(request: Request) -> dict[str, str]:
    """An empty select ("全部") sends ``city=``: read it as no filter."""
    return {k: v for k, v in request.query_params.items() if v != ""}


api = APIRouter(include_in_schema=False)


@api.get("/", response_class=HTMLResponse)
async def home(request: Request, backends: Wired) -> HTMLResponse:
    stats = await backends.call("registry", "GET", f"{PUBLIC}/stats")
    done, target = stats["accredited"]["provincial"], stats["targets"]["provincial"]
    ring = progress_ring(done, target, "省级中试平台认定进展")
    return render(request, "home.html", {"stats": stats, "ring": ring})


@api.get("/registry", response_class=HTMLResponse)
async def registry(request: Request, backends: Wired) -> HTMLResponse:
    given = blank_to_none(request)
    try:
        filters, errors = RegistryFilters.model_validate(given), {}
    except ValidationError as exc:  # a hand-edited address: drop the bad filters and say which
        errors = field_errors(exc.errors(), drop=0)
        filters = RegistryFilters.model_validate({k: v for k, v in given.items() if k not in errors})
    page = await backends.call("registry", "GET", f"{PUBLIC}/platforms",
                               params={**filters.params(), "limit": PAGE_SIZE})
    return render(request, "registry.html", {"page": page, "filters": filters, "statuses": REGISTRY_STATUSES,
                                             "page_size": PAGE_SIZE, "errors": errors},
                  status_code=422 if errors else 200)


@api.get("/registry/{platform_id}", response_class=HTMLResponse)
async def platform(request: Request, platform_id: str, backends: Wired) -> HTMLResponse:
    entry = await backends.call("registry", "GET", f"{PUBLIC}/platforms/{platform_id}")
    return render(request, "platform.html", {"entry": entry})


@api.get("/verify", response_class=HTMLResponse)
async def verify(request: Request, backends: Wired, no: Annotated[str, Query(max_length=60)] = "") -> HTMLResponse:
    return render(request, "verify.html", {"number": no.strip(), **await verification(backends, no.strip())})


@api.get("/publicity", response_class=HTMLResponse)
async def publicity(request: Request, backends: Wired,
                    round_: Annotated[str, Query(alias="round", max_length=64)] = "") -> HTMLResponse:
    return render(request, "publicity.html", await publicity_context(backends, round_.strip()))


@api.get("/progress", response_class=HTMLResponse)
async def progress(request: Request, backends: Wired) -> HTMLResponse:
    stats = await backends.call("registry", "GET", f"{PUBLIC}/stats")
    return render(request, "progress.html", {"stats": stats, "charts": charts_of(stats)})


async def verification(backends: Backends, number: str) -> dict[str, Any]:
    """The certificate and the registry's verdict on it, or why there is none."""
    if not number:
        return {}
    signed = await missing_as(backends.call("registry", "GET", f"{PUBLIC}/certificates/{number}"), None)
    if signed is None:
        return {"result": "unknown", "message": "登记簿中没有该证书编号，请核对后重新输入。"}
    verdict = await backends.call("registry", "POST", f"{PUBLIC}/certificates/verify", json=signed)
    return {"certificate": signed["document"], "result": verdict["result"], "message": verdict["message"]}


async def publicity_context(backends: Backends, round_id: str) -> dict[str, Any]:
    if not round_id:
        return {"round_id": ""}
    shown = await missing_as(backends.call("registry", "GET", f"{PUBLIC}/publicity/{round_id}"), None)
    if shown is None:
        return {"round_id": round_id, "missing": True}
    return {"round_id": round_id, "publicity": shown,
            "decisions": {d.value: label for d, label in DECISION_LABELS.items()}}


def charts_of(stats: dict[str, Any]) -> dict[str, str]:
    """The four charts: by city, by cluster tier, by platform type, by year of accreditation."""
    by_city = [Bar(c["city_name"], c["accredited"]) for c in stats["by_city"]]
    return {
        "按市州": bar_chart("按市州统计的省级中试平台数量", by_city or [Bar("暂无", 0)]),
        "按产业集群层级": bar_chart("按产业集群层级统计", [Bar(k, v) for k, v in stats["by_tier"].items()]),
        "按平台类型": bar_chart("按平台类型统计", [Bar(k, v) for k, v in stats["by_type"].items()] or [Bar("暂无", 0)]),
        "按认定年度": bar_chart("按认定年度统计", [Bar(f"{k}年", v) for k, v in stats["by_year"].items()]
                           or [Bar("暂无", 0)]),
    }
