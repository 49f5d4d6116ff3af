"""After accreditation (registry's lifecycle API): the applicant's annual report (年度报告), and the province's
annual evaluation (年度评价: good, warning with a rectification deadline, revoked), revocation and the
recommendation for national upgrade with its outcome."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from zhongshi_runtime.auth import Role

from zhongshi_console.auth import PageNotFound
from zhongshi_console.clients import Backends
from zhongshi_console.deps import Wired
from zhongshi_console.pages.public import REGISTRY_STATUSES
from zhongshi_console.roles import Caller, signed_in
from zhongshi_console.web import render, unless_refused

API = "/api/v1/platforms"
PAGE_SIZE = 50
Province = Annotated[Caller, Depends(signed_in(Role.PROVINCE_OFFICIAL))]
Applicant = Annotated[Caller, Depends(signed_in(Role.APPLICANT))]
REPORT_FIELDS = ("year", "service_projects", "clients_served", "service_revenue", "technology_transfers",
                 "equipment_value", "staff")
STANDINGS = {"good": "合格", "warning": "限期整改", "revoked": "撤销认定"}
# The six dimensions of the national recommendation (registry: entries.NATIONAL_DIMENSIONS).
NATIONAL_DIMENSIONS = ("战略定位", "基础能力", "技术优势", "服务成效", "运行机制", "未来潜力")
OUTCOMES = {"pending": "待国家评定", "upgraded": "获批国家制造业中试平台", "not_selected": "未获批"}
ACTIONS = ("evaluate", "revoke", "recommend", "outcome")


def texts(form: FormData) -> dict[str, str]:
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def province_step(platform_id: str, action: str, form: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    """A province form as the registry's call: method, path and body (blank optional fields left out)."""
    base = f"{API}/{platform_id}"
    if action == "evaluate":
        body = {k: form.get(k, "") for k in ("standing", "reason")}
        body |= {"rectify_by": form["rectify_by"]} if form.get("rectify_by") else {}
        return "POST", f"{base}/evaluations/{form.get('year', '').strip() or 0}", body
    if action == "revoke":
        return "POST", f"{base}/revoke", {"reason": form.get("reason", "")}
    if action == "recommend":
        return "POST", f"{base}/national-recommendation", {"profile": {
            d: {"score": form.get(f"score.{d}", ""), "notes": form.get(f"notes.{d}", "")} for d in NATIONAL_DIMENSIONS}}
    return "PUT", f"{base}/national-recommendation/outcome", {"outcome": form.get("outcome", "")}


def standings_of(entry: dict[str, Any]) -> dict[str, str]:
    """Each year's standing, from the public history's ``evaluated_<year>_<standing>`` actions (the last wins)."""
    found: dict[str, str] = {}
    for item in entry.get("history", []):
        if (parts := str(item.get("action", "")).split("_"))[0] == "evaluated" and len(parts) == 3:
            found[parts[1]] = parts[2]
    return dict(sorted(found.items()))


api = APIRouter(include_in_schema=False)


async def entry_of(backends: Backends, platform_id: str) -> Any:
    return await backends.call("registry", "GET", f"/api/v1/public/platforms/{platform_id}")


@api.get("/province/platforms", response_class=HTMLResponse)
async def platforms(request: Request, caller: Province, backends: Wired, q: Annotated[str, Query(max_length=100)] = "",
                    status: Annotated[str, Query(max_length=20)] = "") -> HTMLResponse:
    params = {k: v for k, v in {"q": q.strip(), "status": status if status in REGISTRY_STATUSES else ""}.items()
              if v}
    page = await backends.call("registry", "GET", "/api/v1/public/platforms", params={**params, "limit": PAGE_SIZE})
    return render(request, "province/platforms.html", {"page": page, "q": q, "status": status,
                                                       "statuses": REGISTRY_STATUSES})


async def province_page(request: Request, backends: Backends, platform_id: str, caller: Caller,
                        status_code: int = 200, **extra: Any) -> HTMLResponse:
    entry = await entry_of(backends, platform_id)
    reports = await backends.call("registry", "GET", f"{API}/{platform_id}/annual-reports", caller.token)
    return render(request, "province/platform.html", {
        "entry": entry, "reports": reports, "standings": STANDINGS, "evaluated": standings_of(entry),
        "dimensions": NATIONAL_DIMENSIONS,
        "outcomes": OUTCOMES, "form": {}, "errors": {}, "action": "", **extra}, status_code)


@api.get("/province/platforms/{platform_id}", response_class=HTMLResponse)
async def province_platform(request: Request, platform_id: str, caller: Province, backends: Wired) -> HTMLResponse:
    return await province_page(request, backends, platform_id, caller)


@api.post("/province/platforms/{platform_id}/{action}", response_class=HTMLResponse)
async def province_action(request: Request, platform_id: str, action: str, caller: Province,
                          backends: Wired) -> Response:
    if action not in ACTIONS:
        raise PageNotFound
    form = texts(await request.form())
    if action == "evaluate" and not form.get("year", "").isdigit():  # the year is part of the address
        return await province_page(request, backends, platform_id, caller, 422, form=form, action=action,
                                   errors={"year": "请填写评价年度"})
    method, path, body = province_step(platform_id, action, form)
    await unless_refused(
        backends.call("registry", method, path, caller.token, json=body),
        lambda exc: province_page(request, backends, platform_id, caller, exc.status, form=form, action=action,
                                  errors=exc.fields, error=exc.message))
    return RedirectResponse(f"/province/platforms/{platform_id}", status_code=303)


async def report_page(request: Request, backends: Backends, platform_id: str, caller: Caller, status_code: int = 200,
                      **extra: Any) -> HTMLResponse:
    reports = await backends.call("registry", "GET", f"{API}/{platform_id}/annual-reports", caller.token)
    entry = await entry_of(backends, platform_id)
    return render(request, "applicant/annual_report.html", {"entry": entry, "reports": reports, "form": {},
                                                            "errors": {}, **extra}, status_code)


@api.get("/applicant/platforms/{platform_id}", response_class=HTMLResponse)
async def annual_reports(request: Request, platform_id: str, caller: Applicant, backends: Wired) -> HTMLResponse:
    return await report_page(request, backends, platform_id, caller)


@api.post("/applicant/platforms/{platform_id}/annual-reports", response_class=HTMLResponse)
async def file_report(request: Request, platform_id: str, caller: Applicant, backends: Wired) -> Response:
    form = texts(await request.form())
    body = {k: form.get(k, "") for k in REPORT_FIELDS}
    await unless_refused(
        backends.call("registry", "POST", f"{API}/{platform_id}/annual-reports", caller.token, json=body),
        lambda exc: report_page(request, backends, platform_id, caller, exc.status, form=form, errors=exc.fields,
                                error=exc.message))
    return RedirectResponse(f"/applicant/platforms/{platform_id}?filed={body['year']}", status_code=303)
