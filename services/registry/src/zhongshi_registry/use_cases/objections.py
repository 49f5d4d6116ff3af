"""Objections (异议): filed by an identified objector inside the window and within limits, resolved by the
province one at a time or in bulk, each exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from zhongshi_contracts import registry as contracts
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.clock import shanghai_date
from zhongshi_runtime.errors import NotFound
from zhongshi_runtime.outbox import Outcome, Session
from zhongshi_runtime.ratelimit import enforce, too_many

from zhongshi_registry import domain
from zhongshi_registry.domain import Objection, ObjectionStatus
from zhongshi_registry.use_cases import HOUR, Deps


async def admissible(deps: Deps, round_id: str, application_id: str, objector: str) -> None:
    """Refuse outside the window (409), or beyond the objector's pending cap and the round's rate (429)."""
    domain.check_objection(await deps.repo.publicity_of(round_id), application_id, shanghai_date(deps.clock()))
    pending = await deps.repo.pending_objections_by(round_id, objector)
    if len(pending) >= deps.settings.objections_pending_per_objector:
        raise too_many(HOUR)
    enforce((deps.per_round, round_id))


async def file_objection(deps: Deps, objection: Objection, audit: Audit) -> Objection:
    """Keep an admissible objection and announce it (without the objector's name, contact or grounds)."""
    await admissible(deps, objection.round_id, objection.application_id, objection.objector)

    async def work(session: Session) -> Outcome[Objection]:
        await deps.repo.save_objection(objection, session)
        return Outcome(objection, [contracts.PublicityObjectionFiled(
            application_id=objection.round_id, round_id=objection.round_id, objection_id=objection.id,
            filed_at=objection.filed_at, objected_application_id=objection.application_id)])

    return await deps.uow.run(work, audit=audit)


def new_objection_id() -> str:
    return f"OBJ-{uuid.uuid4().hex[:12]}"


async def resolve_objections(deps: Deps, ids: Sequence[str], round_id: str | None, upheld: bool, reason: str,
                             audit: Audit) -> list[Objection]:
    """Resolve every objection in one transaction: read and written together, so each is resolved once."""
    now = deps.clock()

    async def work(session: Session) -> Outcome[list[Objection]]:
        done = [await resolve_one(deps, objection_id, round_id, upheld, reason, now, session) for objection_id in ids]
        audit.round_id = audit.round_id or done[0].round_id
        audit.touches(o.application_id for o in done)
        return Outcome(done, [resolved_event(o, now) for o in done])

    return await deps.uow.run(work, audit=audit)


async def resolve_one(deps: Deps, objection_id: str, round_id: str | None, upheld: bool, reason: str,
                      now: datetime, session: Session) -> Objection:
    found = await deps.repo.objection(objection_id, session)
    if found is None or (round_id is not None and found.round_id != round_id):
        raise NotFound(f"异议 {objection_id} 不存在")
    resolved = domain.resolve(found, upheld, reason, now)
    await deps.repo.save_objection(resolved, session)
    return resolved


def resolved_event(o: Objection, now: datetime) -> contracts.ObjectionResolved:
    return contracts.ObjectionResolved(
        application_id=o.round_id, round_id=o.round_id, objection_id=o.id, objected_application_id=o.application_id,
        upheld=o.status is ObjectionStatus.UPHELD, reason=o.reason, resolved_at=now, reply_to=o.contact)
