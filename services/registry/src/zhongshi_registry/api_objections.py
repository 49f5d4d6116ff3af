"""Objections (异议) during publicity: filed by an identified objector within rate limits, read and resolved
by the province one at a time or in bulk. A pending objection holds up the round's close, so filing is
limited per client, per round and per objector."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from zhongshi_contracts.inputs import Flag
from zhongshi_runtime import contact_proof
from zhongshi_runtime.audit import Audit, request_id
from zhongshi_runtime.errors import errors
from zhongshi_runtime.ratelimit import client_key, enforce

from zhongshi_registry.api import Province, Wired
from zhongshi_registry.api_publicity import public_objection
from zhongshi_registry.domain import Objection
from zhongshi_registry.use_cases import objections as use

router = APIRouter(prefix="/api/v1", tags=["publicity"])
Reason = Annotated[str, Field(min_length=2, max_length=2000)]
Evidence = Annotated[str, Field(min_length=1, max_length=500)]
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]
Proof = Annotated[str | None, Header(alias=contact_proof.HEADER, max_length=4096,
                                     description="The proof notify gave for a verified contact.")]


class ObjectionRequest(BaseModel):
    application_id: str = Field(min_length=1, max_length=64, description="The publicised application objected to.")
    name: str = Field(min_length=2, max_length=50, description="Real name (实名), never published.")
    contact: str = Field(min_length=5, max_length=100, description="Phone or e-mail, never published; with a "
                         "contact proof it must be the verified one.")
    grounds: str = Field(min_length=10, max_length=4000, description="异议理由.")
    evidence: list[Evidence] = Field(default_factory=list, max_length=20, description="Evidence descriptions.")


class Resolution(BaseModel):
    upheld: Flag
    reason: Reason


class BulkResolution(Resolution):
    objection_ids: list[str] = Field(min_length=1, max_length=500, description="Pending objections of the round.")


def verdict(upheld: bool) -> str:
    return "成立" if upheld else "不成立"


@router.post("/publicity/{round_id}/objections", status_code=201, tags=["public"], responses=errors(401, 409, 429),
             summary="File a real-name objection during the window: logged in, or with a verified contact")
async def object_(round_id: str, body: ObjectionRequest, request: Request, credentials: Bearer, deps: Wired,
                  proof: Proof = None) -> dict[str, Any]:
    enforce((deps.per_client, client_key(request, deps.settings.trust_forwarded_for)))  # every attempt counts here
    objector = await deps.identifier.identify(request, credentials, proof, body.contact)
    objection = Objection(id=use.new_objection_id(), round_id=round_id, filed_at=deps.clock(),
                          objector=objector.key, **body.model_dump())
    audit = Audit(objector.actor, "objection.file", "objection", objection.id,
                  application_ids=[objection.application_id], round_id=round_id, request_id=request_id(request))
    return public_objection(await use.file_objection(deps, objection, audit))


@router.get("/rounds/{round_id}/objections", summary="The round's objections in full (province)")
async def objections(round_id: str, _: Province, deps: Wired) -> list[Objection]:
    return await deps.repo.objections_of_round(round_id)


@router.post("/objections/{objection_id}/resolve", summary="Dismiss or uphold an objection (province)",
             responses=errors(404, 409))
async def resolve(objection_id: str, body: Resolution, principal: Province, request: Request, deps: Wired
                  ) -> Objection:
    audit = Audit.request(principal, request, "objection.resolve", "objection", objection_id, reason=body.reason,
                          outcome=verdict(body.upheld))
    [done] = await use.resolve_objections(deps, [objection_id], None, body.upheld, body.reason, audit)
    return done


@router.post("/rounds/{round_id}/objections/resolve", responses=errors(404, 409),
             summary="Dismiss or uphold many pending objections of the round at once, all or none (province)")
async def resolve_many(round_id: str, body: BulkResolution, principal: Province, request: Request, deps: Wired
                       ) -> dict[str, Any]:
    ids = list(dict.fromkeys(body.objection_ids))
    audit = Audit.request(principal, request, "objection.resolve_bulk", "round", round_id, round_id=round_id,
                          reason=body.reason, outcome=f"{verdict(body.upheld)} {len(ids)} 件：" + "、".join(ids))
    done = await use.resolve_objections(deps, ids, round_id, body.upheld, body.reason, audit)
    return {"resolved": len(done), "objection_ids": [o.id for o in done]}
