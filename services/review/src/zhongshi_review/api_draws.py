"""Panel draws that cannot be gamed (commit-reveal): the round's draw commitment, the draw, top-ups of panels
short of members, and re-running a draw to check it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.errors import errors

from zhongshi_review import draw_service
from zhongshi_review.api import Province, ProvinceOnOpenRound, ProvinceOrExpert, Wired
from zhongshi_review.records import Panel
from zhongshi_review.service import drawn_panel, open_round

router = APIRouter(prefix="/api/v1", tags=["panel draws"])


class DrawRequest(BaseModel):
    """Which candidates to draw for. There is no seed: it was fixed by the round's commitment."""

    model_config = ConfigDict(extra="forbid")

    application_ids: list[str] | None = Field(None, max_length=2000,
                                              description="Only these; default: every ready candidate.")


@router.post("/rounds/{round_id}/draw-commitment", status_code=201, responses=errors(409),
             summary="Fix the round's draw before any panel: a secret seed's hash, the pool snapshot, the rules")
async def commit(round_id: str, principal: ProvinceOnOpenRound, request: Request, deps: Wired
                 ) -> dict[str, object]:
    audit = Audit.request(principal, request, "draw.commit", "round", round_id, round_id=round_id)
    return (await draw_service.commit(deps, round_id, audit)).published()


@router.get("/rounds/{round_id}/draw-commitment", summary="The round's draw commitment; the seed once revealed",
            responses=errors(404))
async def read_commitment(round_id: str, _: ProvinceOrExpert, deps: Wired) -> dict[str, object]:
    return (await draw_service.read_commitment(deps, round_id)).published()


@router.post("/rounds/{round_id}/panels", summary="Draw panels for the round's ready candidates, revealing the "
             "committed seed", responses=errors(409))
async def draw(round_id: str, body: DrawRequest, principal: ProvinceOnOpenRound, request: Request, deps: Wired
               ) -> list[dict[str, Any]]:
    def audit(reason: str) -> Audit:
        return Audit.request(principal, request, "panel.draw", "round", round_id, round_id=round_id, reason=reason,
                             confidential=True)  # its outcome names the panels' members

    return await draw_service.draw(deps, round_id, body.application_ids, audit)


@router.post("/panels/{application_id}/top-up", summary="Fill a panel short of members from the current pool",
             responses=errors(404, 409))
async def top_up(application_id: str, principal: Province, request: Request, deps: Wired) -> Panel:
    panel = await drawn_panel(deps, application_id)
    await open_round(deps, panel.round_id)
    return await draw_service.top_up(deps, panel, Audit.request(
        principal, request, "panel.top_up", "application", application_id, application_ids=[application_id],
        confidential=True))


@router.get("/panels/{application_id}/verification", summary="Re-run a panel's draw from its commitment and pool "
            "snapshot, and say whether it reproduces", responses=errors(404, 409))
async def verification(application_id: str, _: Province, deps: Wired) -> dict[str, Any]:
    return await draw_service.verification(deps, application_id)
