"""The city's round page (市州推荐): quota use, progress by county, and the order of its recommendations
(推荐排序, screening's ``PUT /rounds/{id}/priorities``)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from zhongshi_runtime.auth import Role

from zhongshi_console.clients import Backends
from zhongshi_console.deps import Wired
from zhongshi_console.roles import Caller, signed_in
from zhongshi_console.web import render, unless_refused

API = "/api/v1"
City = Annotated[Caller, Depends(signed_in(Role.CITY_OFFICIAL))]
# Screening's stage labels (screening: chain.STAGE_LABELS), the glossary's names.
STAGES = {"county_review": "县级初审", "city_review": "市州推荐", "exception_review": "省级例外认定",
          "expert_review": "专家评审", "returned": "退回修改", "rejected": "不予推荐",
          "declined": "例外认定未通过", "withdrawn": "已撤回", "screened_out": "形式审查未通过"}


def ranked(cases: list[dict[str, Any]], form: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The application ids in the order the form's ranks give, or the errors by ``rank.<id>``."""
    errors: dict[str, str] = {}
    ranks: dict[str, int] = {}
    for case in cases:
        text = form.get(f"rank.{case['id']}", "").strip()
        if not text.isdigit() or not 1 <= int(text) <= len(cases):
            errors[f"rank.{case['id']}"] = f"请填写 1 至 {len(cases)} 之间的整数"
        else:
            ranks[case["id"]] = int(text)
    taken = Counter(ranks.values())
    errors |= {f"rank.{i}": f"排序 {r} 重复" for i, r in ranks.items() if taken[r] > 1}
    return sorted(ranks, key=ranks.__getitem__), errors


def by_county(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The applications in the county and city queues, counted by county (区县) and stage, with overdue ones."""
    rows: dict[str, dict[str, Any]] = {}
    for case in cases:
        row = rows.setdefault(case["region_code"], {"name": case["region_name"], "county_review": 0,
                                                    "city_review": 0, "overdue": 0})
        row[case["stage"]] = row.get(case["stage"], 0) + 1
        row["overdue"] += 1 if case["overdue"] else 0
    return [rows[code] for code in sorted(rows)]


api = APIRouter(prefix="/official", include_in_schema=False)


async def queue(backends: Backends, caller: Caller, level: str, round_id: str | None = None) -> list[dict[str, Any]]:
    params = {"limit": 200, **({"round_id": round_id} if round_id else {})}
    page = await backends.call("screening", "GET", f"{API}/queues/{level}", caller.token, params=params)
    return list(page["items"])


@api.get("/round", response_class=HTMLResponse)
async def choose(request: Request, caller: City, backends: Wired,
                 round_: Annotated[str, Query(alias="round", max_length=64)] = "") -> Response:
    if round_.strip():
        return RedirectResponse(f"/official/rounds/{round_.strip()}", status_code=303)
    seen = {c["round_id"] for level in ("county", "city") for c in await queue(backends, caller, level)}
    return render(request, "official/rounds.html", {"rounds": sorted(seen, reverse=True)})


async def round_page(request: Request, backends: Backends, round_id: str, caller: Caller, status_code: int = 200,
                     **extra: Any) -> HTMLResponse:
    progress = await backends.call("screening", "GET", f"{API}/rounds/{round_id}/progress", caller.token)
    county = await queue(backends, caller, "county", round_id)
    city = await queue(backends, caller, "city", round_id)
    city.sort(key=lambda c: (c["priority"] is None, c["priority"] or 0, c["id"]))
    return render(request, "official/round.html", {
        "round_id": round_id, "progress": progress, "counties": by_county(county + city), "cases": city,
        "stages": STAGES, "form": {}, "errors": {}, **extra}, status_code)


@api.get("/rounds/{round_id}", response_class=HTMLResponse)
async def one_round(request: Request, round_id: str, caller: City, backends: Wired) -> HTMLResponse:
    return await round_page(request, backends, round_id, caller)


@api.post("/rounds/{round_id}/priorities", response_class=HTMLResponse)
async def priorities(request: Request, round_id: str, caller: City, backends: Wired) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    order, errors = ranked(await queue(backends, caller, "city", round_id), form)
    if errors or not order:
        return await round_page(request, backends, round_id, caller, 422, form=form, errors=errors,
                                error="请检查标出的排序" if errors else "本市没有待推荐的申报")
    await unless_refused(
        backends.call("screening", "PUT", f"{API}/rounds/{round_id}/priorities", caller.token,
                      json={"application_ids": order}),
        lambda exc: round_page(request, backends, round_id, caller, exc.status, form=form, error=exc.message),
        statuses=(404, 409, 422))
    return RedirectResponse(f"/official/rounds/{round_id}?saved=1", status_code=303)
