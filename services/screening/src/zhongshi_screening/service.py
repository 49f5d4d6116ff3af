"""Screening's use cases for rule sets, the self-check and screening reports: plain async functions over `Deps`
(the recommendation chain's: `chain_service`)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.exceptions import RequestValidationError
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import Event, RuleSetPublished
from zhongshi_contracts.materials import MaterialKind
from zhongshi_runtime.audit import Actor, Audit
from zhongshi_runtime.auth import OFFICIALS, Principal, Role
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.errors import NotFound, must_exist
from zhongshi_runtime.outbox import Session, UnitOfWork
from zhongshi_runtime.validation import refuse_future_dates

from zhongshi_screening.domain import Verdict, evaluate
from zhongshi_screening.metrics import ChainMetrics
from zhongshi_screening.repository import ScreeningRepository
from zhongshi_screening.rules import RuleSet


@dataclass(frozen=True)
class Deps:
    """What screening's use cases need; app.py builds it once and puts it on the app (`app.state.deps`)."""

    repo: ScreeningRepository
    uow: UnitOfWork
    clock: Clock
    metrics: ChainMetrics


class _Unchanged(Exception):
    """The identical rule-set version is stored already: nothing to write, nothing to audit."""


def published(rule_set: RuleSet, now: datetime) -> RuleSetPublished:
    """The announcement that lets intake open rounds on ``rule_set`` (keyed by its version)."""
    return RuleSetPublished(application_id=rule_set.version, round_id="", version=rule_set.version,
                            title=rule_set.title, published_at=now)


async def announce_rule_sets(repo: ScreeningRepository, uow: UnitOfWork, clock: Clock) -> None:
    """At each start, announce every stored version again: intake's copy heals even after a lost topic."""
    rule_sets = await repo.rule_sets()

    async def work(_: Session) -> list[Event]:
        return [published(r, clock()) for r in rule_sets]

    versions = ",".join(r.version for r in rule_sets)
    await uow.run(work, audit=Audit(Actor.service("screening"), "rule_set.announce", "rule_set", versions))


async def rule_set_of(deps: Deps, version: str) -> RuleSet:
    """The rule-set version, or 404."""
    return must_exist(await deps.repo.rule_set(version), f"规则集 {version} 不存在")


async def add_rule_set(deps: Deps, rule_set: RuleSet, audit: Audit) -> RuleSet:
    """Store a new rule-set version and announce it; the identical version again changes nothing."""
    async def work(session: Session) -> list[Event]:
        if not await deps.repo.add_rule_set(rule_set, session):
            raise _Unchanged
        return [published(rule_set, deps.clock())]  # intake opens rounds only on announced versions

    with contextlib.suppress(_Unchanged):  # the identical version: nothing written, nothing audited
        await deps.uow.run(work, audit=audit)
    return rule_set


async def check(deps: Deps, dossier: Dossier, version: str, uploaded: Sequence[MaterialKind]) -> Verdict:
    """The rules' verdict on a dossier, stored nowhere (an unknown rule set is bad input, naming the field)."""
    today = shanghai_date(deps.clock())
    refuse_future_dates(dossier, today)
    rule_set = await deps.repo.rule_set(version)
    if rule_set is None:
        raise RequestValidationError([{"loc": ("body", "rule_set_version"), "type": "value_error",
                                       "msg": f"规则集 {version} 不存在"}])
    return evaluate(dossier, rule_set, today, uploaded)


async def screenings(deps: Deps, application_id: str, caller: Principal) -> list[dict[str, Any]]:
    """An application's screening reports, oldest first, if the caller may read them; else 404."""
    reports = await deps.repo.screenings(application_id)
    if not reports or not _may_read(caller, reports[-1]):
        raise NotFound("未找到该申报的审查记录")
    return [{k: v for k, v in r.items() if k != "_id"} for r in reports]


def _may_read(principal: Principal, report: dict[str, Any]) -> bool:
    if principal.role is Role.APPLICANT:
        return bool(report["applicant_credit_code"] == principal.organisation)
    return principal.role in OFFICIALS and principal.covers_region(report["region_code"])
