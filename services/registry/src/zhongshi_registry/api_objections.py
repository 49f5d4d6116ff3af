"""Objections (异议) during publicity: filed by an identified objector within rate limits, read and resolved
by the province one at a time or in bulk. A pending objection holds up the round's close, so filing is
limited per client, per round and per objector."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from zhongshi_contracts import registry as contracts
from zhongshi_contracts.events import Event
from zhongshi_contracts.inputs import Flag
from zhongshi_runtime import contact_proof
from zhongshi_runtime.audit import Audit, request_id
from zhongshi_runtime.auth import Principal, Role, require
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.errors import errors
from zhongshi_runtime.outbox import Session, UnitOfWork
from zhongshi_runtime.ratelimit import Limit, RateLimiter, client_key, enforce, too_many

from zhongshi_registry import domain
from zhongshi_registry.api_publicity import conflict, public_objection
from zhongshi_registry.domain import Objection, ObjectionStatus, Refused
from zhongshi_registry.objectors import Identifier, Objector
from zhongshi_registry.repository import RegistryRepository
from zhongshi_registry.settings import RegistrySettings

Province = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
Reason = Annotated[str, Field(min_length=2, max_length=2000)]
Evidence = Annotated[str, Field(min_length=1, max_length=500)]
HOUR = 3600.0
_bearer = HTTPBearer(auto_error=False)


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


def _resolved_event(o: Objection, now: datetime) -> contracts.ObjectionResolved:
    return contracts.ObjectionResolved(
        application_id=o.round_id, round_id=o.round_id, objection_id=o.id, objected_application_id=o.application_id,
        upheld=o.status is ObjectionStatus.UPHELD, reason=o.reason, resolved_at=now, reply_to=o.contact)


def router(repo: RegistryRepository, uow: UnitOfWork, clock: Clock, settings: RegistrySettings) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["publicity"])
    per_client = RateLimiter(Limit(settings.objections_per_client_hour, HOUR))
    per_round = RateLimiter(Limit(settings.objections_per_round_hour, HOUR))
    identifier = Identifier(settings.contact_proof_public_key_file)

    async def admissible(round_id: str, body: ObjectionRequest, objector: Objector) -> None:
        """Refuse outside the window (409), or beyond the objector's pending cap and the round's rate (429)."""
        try:
            domain.check_objection(await repo.publicity.get(round_id), body.application_id, shanghai_date(clock()))
        except Refused as exc:
            raise conflict(str(exc)) from exc
        pending = await repo.objections.find(round_id=round_id, objector=objector.key, status=ObjectionStatus.PENDING)
        if len(pending) >= settings.objections_pending_per_objector:
            raise too_many(HOUR)
        enforce((per_round, round_id))

    @api.post("/publicity/{round_id}/objections", status_code=201, tags=["public"], responses=errors(401, 409, 429),
              summary="File a real-name objection during the window: logged in, or with a verified contact")
    async def object_(
        round_id: str, body: ObjectionRequest, request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        proof: Annotated[str | None, Header(alias=contact_proof.HEADER, max_length=4096,
                                            description="The proof notify gave for a verified contact.")] = None,
    ) -> dict[str, Any]:
        enforce((per_client, client_key(request, settings.trust_forwarded_for)))  # every attempt counts here
        objector = await identifier.identify(request, credentials, proof, body.contact)
        await admissible(round_id, body, objector)
        objection = Objection(id=f"OBJ-{uuid.uuid4().hex[:12]}", round_id=round_id, filed_at=clock(),
                              objector=objector.key, **body.model_dump())

        async def work(session: Session) -> list[Event]:
            await repo.objections.put(objection.id, objection, session)
            return [contracts.PublicityObjectionFiled(
                application_id=round_id, round_id=round_id, objection_id=objection.id, filed_at=objection.filed_at,
                objected_application_id=objection.application_id)]

        await uow.run(work, audit=Audit(objector.actor, "objection.file", "objection", objection.id,
                                        application_ids=[objection.application_id], round_id=round_id,
                                        request_id=request_id(request)))
        return public_objection(objection)

    @api.get("/rounds/{round_id}/objections", summary="The round's objections in full (province)")
    async def objections(round_id: str, _: Province) -> list[Objection]:
        return await repo.objections.find(round_id=round_id)

    @api.post("/objections/{objection_id}/resolve", summary="Dismiss or uphold an objection (province)",
              responses=errors(404, 409))
    async def resolve(objection_id: str, body: Resolution, principal: Province, request: Request) -> Objection:
        audit = Audit.request(principal, request, "objection.resolve", "objection", objection_id, reason=body.reason,
                              outcome="成立" if body.upheld else "不成立")
        [done] = await resolve_all([objection_id], None, body, audit)
        return done

    @api.post("/rounds/{round_id}/objections/resolve", responses=errors(404, 409),
              summary="Dismiss or uphold many pending objections of the round at once, all or none (province)")
    async def resolve_many(round_id: str, body: BulkResolution, principal: Province, request: Request
                           ) -> dict[str, Any]:
        ids = list(dict.fromkeys(body.objection_ids))
        audit = Audit.request(principal, request, "objection.resolve_bulk", "round", round_id, round_id=round_id,
                              reason=body.reason, outcome=f"{'成立' if body.upheld else '不成立'} {len(ids)} 件："
                              + "、".join(ids))
        done = await resolve_all(ids, round_id, body, audit)
        return {"resolved": len(done), "objection_ids": [o.id for o in done]}

    async def resolve_all(ids: list[str], round_id: str | None, body: Resolution, audit: Audit) -> list[Objection]:
        """Resolve every objection in one transaction: read and written together, so each is resolved once."""
        now, done = clock(), list[Objection]()

        async def work(session: Session) -> list[Event]:
            done.clear()
            for objection_id in ids:
                found = await repo.objections.get(objection_id, session)
                if found is None or (round_id is not None and found.round_id != round_id):
                    raise HTTPException(status.HTTP_404_NOT_FOUND, f"异议 {objection_id} 不存在")
                try:
                    done.append(domain.resolve(found, body.upheld, body.reason, now))
                except Refused as exc:
                    raise conflict(str(exc)) from exc
                await repo.objections.put(objection_id, done[-1], session)
            audit.round_id = audit.round_id or done[0].round_id
            audit.touches(o.application_id for o in done)
            return [_resolved_event(o, now) for o in done]

        await uow.run(work, audit=audit)
        return done

    return api
