"""The province's pages: rounds (windows, rule set, required materials), a round's city quotas and stage deadlines,
review settings, panel draw,
decision list with overrides and confirmation, publicity with its objections, and one application's audit trail."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from zhongshi_contracts.materials import MATERIAL_KINDS
from zhongshi_runtime.auth import Role

from zhongshi_console.clients import Backends, missing_as
from zhongshi_console.deps import Wired
from zhongshi_console.pages.materials import passed_on
from zhongshi_console.roles import Caller, signed_in
from zhongshi_console.settings import SERVICES
from zhongshi_console.web import render, unless_refused

API = "/api/v1"
Province = Annotated[Caller, Depends(signed_in(Role.PROVINCE_OFFICIAL))]
DECISIONS = {"accredit": "认定", "cultivate": "列为培育对象", "decline": "不予认定"}
CURRENT = {"review-settings": ("review", API + "/rounds/{}/review-settings")}
# The chain's stages with a deadline (screening: RoundSettings.deadlines), the glossary's names.
DEADLINE_STAGES = {"county_review": "县级初审", "city_review": "市州推荐", "exception_review": "省级例外认定"}
SETTINGS = ("panel_size", "quota", "accreditation_line", "cultivation_line", "divergence_threshold")


api = APIRouter(prefix="/province", include_in_schema=False)


async def rounds_page(request: Request, backends: Backends, caller: Caller, form: dict[str, Any] | None = None,
                      errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    found = await backends.call("intake", "GET", f"{API}/rounds", caller.token)
    rule_sets = await backends.call("intake", "GET", f"{API}/rule-sets", caller.token)
    return render(request, "province/rounds.html", {
        "rounds": found, "rule_sets": rule_sets, "kinds": MATERIAL_KINDS, "form": form or {},
        "errors": errors or {}}, status_code)


@api.get("/rounds", response_class=HTMLResponse)
async def rounds(request: Request, caller: Province, backends: Wired) -> HTMLResponse:
    return await rounds_page(request, backends, caller)


@api.post("/rounds", response_class=HTMLResponse)
async def create(request: Request, caller: Province, backends: Wired) -> Response:
    body = round_of(await request.form())
    await unless_refused(
        backends.call("intake", "POST", f"{API}/rounds", caller.token, json=body),
        lambda exc: rounds_page(request, backends, caller, body, exc.fields or {"id": exc.message}, exc.status))
    return RedirectResponse(f"/province/rounds/{body['id']}", status_code=303)


@api.get("/rounds/{round_id}", response_class=HTMLResponse)
async def one_round(request: Request, round_id: str, caller: Province, backends: Wired) -> HTMLResponse:
    return await round_page(request, backends, round_id, caller)


async def round_page(request: Request, backends: Backends, round_id: str, caller: Caller, status_code: int = 200,
                     **extra: Any) -> HTMLResponse:
    return render(request, "province/round.html", {**await round_view(backends, round_id, caller.token),
                                                    "decisions": DECISIONS, "errors": {}, **extra}, status_code)


@api.post("/rounds/{round_id}/{action}", response_class=HTMLResponse)
async def act(request: Request, round_id: str, action: str, caller: Province, backends: Wired) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    current = None
    if action in CURRENT:  # the form shows some settings: the others stay as they are
        current = await backends.call(CURRENT[action][0], "GET", CURRENT[action][1].format(round_id), caller.token)
    call = round_action(round_id, action, form, current)
    if call is None:
        return render(request, "404.html", status_code=404)
    result = await unless_refused(
        backends.call(call[0], call[1], call[2], caller.token, json=call[3]),
        lambda exc: round_page(request, backends, round_id, caller, exc.status, error=exc.message,
                               errors=exc.fields, failed=action))
    drawn = [r for r in result if r.get("error")] if action == "draw" and isinstance(result, list) else []
    if drawn:
        return await round_page(request, backends, round_id, caller, error="；".join(
            f"{r['application_id']}：{r['error']}" for r in drawn), failed=action)
    return RedirectResponse(f"/province/rounds/{round_id}#{action}", status_code=303)


@api.get("/exports/{name}")
async def export(request: Request, name: str, caller: Province, backends: Wired,
                 round_id: Annotated[str, Query(alias="round", max_length=40)] = "") -> Response:
    """The registry's spreadsheets (the published list, a round's results), streamed through."""
    kind, _, fmt = name.partition(".")
    if kind not in ("platforms", "results") or fmt not in ("csv", "xlsx") or (kind == "results" and not round_id):
        return render(request, "404.html", status_code=404)
    path = f"{API}/exports/platforms.{fmt}" if kind == "platforms" else \
        f"{API}/exports/rounds/{quote(round_id, safe='')}/results.{fmt}"
    return await passed_on(backends, path, caller.token, "registry")


@api.get("/audit", response_class=HTMLResponse)
async def audit(request: Request, caller: Province, backends: Wired,
                application: Annotated[str, Query(max_length=40)] = "") -> HTMLResponse:
    records = await trail(backends, caller.token, application.strip()) if application.strip() else None
    return render(request, "province/audit.html", {"application": application.strip(), "records": records})


def round_of(form: FormData) -> dict[str, Any]:
    """The new-round form as intake's round."""
    text = {k: str(form.get(k, "")).strip() for k in ("id", "title", "opens_on", "closes_on", "rule_set_version")}
    return {**text, "required_materials": [k for k in form.getlist("required_materials") if k in MATERIAL_KINDS]}


def round_action(round_id: str, action: str, form: dict[str, str],
                 current: dict[str, Any] | None = None) -> tuple[str, str, str, Any] | None:
    """(service, method, path, body) for one of the round page's buttons (``current``: the review settings)."""
    target = form.get("application_id", "")
    shown = {k: form[k].strip() for k in SETTINGS if form.get(k, "").strip()}
    calls: dict[str, tuple[str, str, str, Any]] = {
        "review-settings": ("review", "PUT", f"{API}/rounds/{round_id}/review-settings",
                            {**(current or {}), "round_id": round_id, **shown}),
        # each form changes its part only (a PATCH): quotas and deadlines saved at once by two officials both stay
        "quotas": ("screening", "PATCH", f"{API}/rounds/{round_id}/settings", {"quotas": quotas_of(form)}),
        "deadlines": ("screening", "PATCH", f"{API}/rounds/{round_id}/settings", {"deadlines": deadlines_of(form)}),
        "draw-commitment": ("review", "POST", f"{API}/rounds/{round_id}/draw-commitment", None),
        "draw": ("review", "POST", f"{API}/rounds/{round_id}/panels", {}),
        "override": ("review", "POST", f"{API}/rounds/{round_id}/overrides/{target}",
                     {"decision": form.get("decision", ""), "justification": form.get("justification", "").strip()}),
        "confirm": ("review", "POST", f"{API}/rounds/{round_id}/confirm", None),
        "publicity-open": ("registry", "POST", f"{API}/rounds/{round_id}/publicity", {}),
        "publicity-close": ("registry", "POST", f"{API}/rounds/{round_id}/publicity/close", None),
        "resolve": ("registry", "POST", f"{API}/objections/{form.get('objection_id', '')}/resolve",
                    {"upheld": form.get("upheld") == "true", "reason": form.get("reason", "").strip()}),
    }
    return calls.get(action)


def quotas_of(form: dict[str, str]) -> dict[str, Any]:
    """``quota.<city code>`` inputs; an empty one sets no quota for that city."""
    found = {k.removeprefix("quota."): v.strip() for k, v in form.items() if k.startswith("quota.") and v.strip()}
    return {code: int(v) if v.isdigit() else v for code, v in found.items()}


def deadlines_of(form: dict[str, str]) -> dict[str, str]:
    """``deadline.<stage>`` inputs (last day, Asia/Shanghai); an empty one sets no deadline for that stage."""
    return {stage: form.get(f"deadline.{stage}", "").strip() for stage in DEADLINE_STAGES
            if form.get(f"deadline.{stage}", "").strip()}


async def round_view(backends: Backends, round_id: str, token: str) -> dict[str, Any]:
    """The round, its review settings and proposal, and its publicity with the objections (None before it opens)."""
    found = await backends.call("intake", "GET", f"{API}/rounds/{round_id}", token)
    settings, proposal, chain, progress = await asyncio.gather(
        backends.call("review", "GET", f"{API}/rounds/{round_id}/review-settings", token),
        backends.call("review", "GET", f"{API}/rounds/{round_id}/proposal", token),
        backends.call("screening", "GET", f"{API}/rounds/{round_id}/settings", token),
        backends.call("screening", "GET", f"{API}/rounds/{round_id}/progress", token))
    publicity, objections = await missing_as(publicity_of(backends, round_id, token), (None, []))
    panels = await asyncio.gather(*(panel_of(backends, i["application_id"], token) for i in proposal["incomplete"]))
    return {"round": found, "settings": settings, "proposal": proposal, "publicity": publicity, "chain": chain,
            "commitment": await commitment_of(backends, round_id, token),
            "progress": {p.get("city_code"): p for p in progress},
            "objections": objections, "kinds": MATERIAL_KINDS, "stages": DEADLINE_STAGES,
            "panels": {i["application_id"]: p for i, p in zip(proposal["incomplete"], panels, strict=True)}}


async def publicity_of(backends: Backends, round_id: str, token: str) -> tuple[Any, Any]:
    """The round's publicity and its objections (a 404 before the publicity opens)."""
    publicity = await backends.call("registry", "GET", f"{API}/public/publicity/{round_id}")
    return publicity, await backends.call("registry", "GET", f"{API}/rounds/{round_id}/objections", token)


async def commitment_of(backends: Backends, round_id: str, token: str) -> dict[str, Any] | None:
    """The round's published draw commitment (the hash of the seed the draw will reveal), or None before it."""
    found: dict[str, Any] | None = await missing_as(
        backends.call("review", "GET", f"{API}/rounds/{round_id}/draw-commitment", token), None)
    return found


async def panel_of(backends: Backends, application_id: str, token: str) -> list[str]:
    """The experts drawn for an application still under review (none before the draw)."""
    none_drawn: dict[str, Any] = {"panel": {"experts": []}}
    found = await missing_as(backends.call("review", "GET", f"{API}/panels/{application_id}", token), none_drawn)
    return list(found["panel"]["experts"])


async def trail(backends: Backends, token: str, application_id: str) -> list[dict[str, Any]]:
    """One application's audit records from the five services (each `GET /api/v1/audit`), oldest first; a
    service that does not answer fails the page rather than show a trail with a silent gap."""
    pages = await asyncio.gather(*(every_page(backends, service, token, application_id) for service in SERVICES))
    return sorted((r for page in pages for r in page), key=lambda r: (r["at"], r["seq"], r["service"]))


async def every_page(backends: Backends, service: str, token: str, application_id: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    while True:
        page = await backends.call(service, "GET", f"{API}/audit", token,
                                   params={"application_id": application_id, "offset": len(records), "limit": 500})
        records += page["items"]
        if not page["items"] or len(records) >= page["total"]:
            return records
