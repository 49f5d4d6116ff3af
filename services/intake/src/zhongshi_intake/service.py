"""Intake's use cases for rounds and applications: plain async functions over `Deps` (materials: `materials`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import Event
from zhongshi_runtime.audit import Audit
from zhongshi_runtime.auth import OFFICIALS, Principal, Role
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.errors import NotFound, Refusal, must_exist
from zhongshi_runtime.outbox import Outcome, Session, UnitOfWork
from zhongshi_runtime.preconditions import expect
from zhongshi_runtime.validation import refuse_control_characters, refuse_future_dates, refuse_scope_mismatch

from zhongshi_intake import domain
from zhongshi_intake.domain import Application, Round
from zhongshi_intake.materials import Materials
from zhongshi_intake.metrics import IntakeMetrics
from zhongshi_intake.repository import AlreadyExists, ApplicationFilter, IntakeRepository

Step = Callable[[Application], Awaitable[tuple[Application, Event]]]


class NotYours(Refusal):
    """An applicant acting in another organisation's name (403)."""

    status_code = 403


@dataclass(frozen=True)
class Deps:
    """What intake's use cases need; app.py builds it once and puts it on the app (`app.state.deps`)."""

    repo: IntakeRepository
    uow: UnitOfWork
    clock: Clock
    metrics: IntakeMetrics
    materials: Materials | None = None  # the material use cases' own (None where a test serves no materials)


async def open_round(deps: Deps, round_: Round, audit: Audit) -> Round:
    """Open a round naming a published rule set; its id must be new."""
    await known_rule_set(deps, round_)

    async def work(session: Session) -> Outcome[Round]:
        await deps.repo.add_round(round_, session)
        return Outcome(round_)

    await deps.uow.run(work, audit=audit)
    deps.metrics.did("round.open")
    return round_


async def round_of(deps: Deps, round_id: str) -> Round:
    """The round, or 404."""
    return must_exist(await deps.repo.round(round_id), f"批次 {round_id} 不存在")


async def readable(deps: Deps, application_id: str, caller: Principal, session: Session = None) -> Application:
    """The application if ``caller`` may read it, else 404 (one outside the caller's scope is not revealed)."""
    app = await deps.repo.get(application_id, session)
    if app is None or not may_read(caller, app):
        raise NotFound(f"申报 {application_id} 不存在")
    return app


async def replayed(deps: Deps, caller: Principal, idempotency_key: str | None) -> Application | None:
    """The application an earlier request with this Idempotency-Key created, if any."""
    return await deps.repo.by_idempotency_key(caller.organisation, idempotency_key) if idempotency_key else None


async def create(deps: Deps, round_id: str, dossier: Dossier, caller: Principal, idempotency_key: str | None,
                 audit: Audit) -> tuple[Application, bool]:
    """Store a new draft in the caller's name; (the application, True) when it replays an earlier request."""
    if dossier.applicant.credit_code != caller.organisation:
        raise NotYours("只能以本单位（令牌中的统一社会信用代码）名义申报")
    if earlier := await replayed(deps, caller, idempotency_key):
        return earlier, True
    check_dossier(dossier, deps.clock())
    app = domain.draft(dossier, await known_round(deps, round_id), now=deps.clock(), idempotency_key=idempotency_key)
    about(audit, app)

    async def work(session: Session) -> Outcome[Application]:
        await deps.repo.add(app, session)
        return Outcome(app)

    try:
        await deps.uow.run(work, audit=audit)
    except AlreadyExists:  # a concurrent request with the same idempotency key won
        if (earlier := await replayed(deps, caller, idempotency_key or "")) is None:
            raise
        return earlier, True
    deps.metrics.did(audit.action)
    return app, False


async def edit(deps: Deps, application_id: str, patch: dict[str, Any], caller: Principal, audit: Audit,
               if_match: str | None) -> Application:
    """Apply a JSON merge patch to a draft's or returned application's dossier."""
    app = await readable(deps, application_id, caller)
    expect(if_match, app.id, app.version)
    try:
        dossier = Dossier.model_validate(merge_patch(app.dossier.model_dump(mode="json"), patch))
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", "dossier", *e["loc"])} for e in exc.errors(include_url=False)]) from None
    check_dossier(dossier, deps.clock())
    updated = domain.revise(app, dossier, now=deps.clock())
    about(audit, updated)

    async def work(session: Session) -> Outcome[Application]:
        return Outcome(await deps.repo.save(updated, session))  # over the version read: a submit in between is stale

    saved = await deps.uow.run(work, audit=audit)
    deps.metrics.did(audit.action)
    return saved


async def submit(deps: Deps, application_id: str, caller: Principal, audit: Audit, if_match: str | None
                 ) -> Application:
    """Submit (or resubmit) the caller's application within its round's window."""
    async def step(current: Application) -> tuple[Application, Event]:
        round_ = await deps.repo.round(current.round_id)
        if round_ is None:
            raise Refusal(f"批次 {current.round_id} 不存在")
        return domain.submit(current, round_, now=deps.clock(), event_id=str(uuid.uuid4()))

    return await transition(deps, application_id, caller, audit, if_match, step)


async def withdraw(deps: Deps, application_id: str, caller: Principal, audit: Audit, if_match: str | None,
                   reason: str) -> Application:
    """Withdraw the caller's application."""
    async def step(current: Application) -> tuple[Application, Event]:
        return domain.withdraw(current, reason=reason, now=deps.clock(), event_id=str(uuid.uuid4()))

    return await transition(deps, application_id, caller, audit, if_match, step)


async def transition(deps: Deps, application_id: str, caller: Principal, audit: Audit, if_match: str | None,
                     step: Step) -> Application:
    """Apply ``step`` to the stored application (if it is still the version ``if_match`` names) and write it with
    its event in one transaction: the application is read once, in it."""
    async def work(session: Session) -> Outcome[Application]:
        current = about(audit, await readable(deps, application_id, caller, session))
        expect(if_match, current.id, current.version)
        updated, event = await step(current)
        audit.outcome = updated.status.value
        return Outcome(await deps.repo.save(updated, session), [event])

    saved = await deps.uow.run(work, audit=audit)
    deps.metrics.did(audit.action)
    return saved


async def listing(deps: Deps, caller: Principal, where: ApplicationFilter, offset: int, limit: int
                  ) -> tuple[int, list[Application]]:
    """The applications matching ``where`` within the caller's scope."""
    scoped = scoped_filter(caller, where)
    return (0, []) if scoped is None else await deps.repo.list(scoped, offset=offset, limit=limit)


def about(audit: Audit, app: Application) -> Application:
    """Complete the route's ``audit`` with the application it is about."""
    audit.target_id, audit.application_ids, audit.round_id = app.id, [app.id], app.round_id
    audit.outcome = app.status.value
    return app


def check_dossier(dossier: Dossier, now: datetime) -> None:
    """A 422 naming every future date, control character or scope mismatch in ``dossier``."""
    refuse_future_dates(dossier, shanghai_date(now))
    refuse_control_characters(dossier)
    refuse_scope_mismatch(dossier)


async def known_round(deps: Deps, round_id: str) -> Round:
    """The round a new application names, or a 422 naming ``round_id``."""
    round_ = await deps.repo.round(round_id)
    if round_ is None:
        raise RequestValidationError([{"loc": ("body", "round_id"), "msg": f"批次 {round_id} 不存在",
                                       "type": "value_error"}])
    return round_


async def known_rule_set(deps: Deps, round_: Round) -> Round:
    """A round naming a rule set screening has published, or a 422 (else every submission would dead-letter)."""
    if not await deps.repo.knows_rule_set(round_.rule_set_version):
        raise RequestValidationError([{
            "loc": ("body", "rule_set_version"), "type": "value_error",
            "msg": f"规则集 {round_.rule_set_version} 不存在（形式审查尚未发布该版本）"}])
    return round_


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def may_read(principal: Principal, app: Application) -> bool:
    if principal.role is Role.APPLICANT:
        return app.applicant_credit_code == principal.organisation
    return principal.role in OFFICIALS and principal.covers_region(app.region_code)


def scoped_filter(principal: Principal, where: ApplicationFilter) -> ApplicationFilter | None:
    """Narrow a filter to the caller's scope; None when the filter asks for something outside it."""
    fields: dict[str, Any] = vars(where).copy()
    if principal.role is Role.APPLICANT:
        fields["applicant_credit_code"] = principal.organisation
    elif principal.role is Role.COUNTY_OFFICIAL:
        if where.region_code not in (None, principal.organisation):
            return None
        fields["region_code"] = principal.organisation
    elif principal.role is Role.CITY_OFFICIAL:
        if where.city_code not in (None, principal.organisation):
            return None
        fields["city_code"] = principal.organisation
    return ApplicationFilter(**fields)
