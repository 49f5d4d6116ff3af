"""Event handlers of screening: load, call the pure rules, save with the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from zhongshi_contracts.events import ApplicationScreened, ApplicationSubmitted, ApplicationWithdrawn, Event
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.handling import EventUnit
from zhongshi_runtime.messaging import Consumers, Rejected
from zhongshi_runtime.outbox import UnitOfWork

from zhongshi_screening import chain
from zhongshi_screening.chain import Stage
from zhongshi_screening.domain import Verdict, evaluate
from zhongshi_screening.metrics import ScreeningMetrics
from zhongshi_screening.repository import ScreeningRepository


def screened_event(submitted: ApplicationSubmitted, verdict: Verdict, at: datetime) -> ApplicationScreened:
    dossier = submitted.dossier
    return ApplicationScreened(
        application_id=submitted.application_id, round_id=submitted.round_id, revision=submitted.revision,
        rule_set_version=verdict.rule_set_version, as_of=verdict.as_of, outcome=verdict.outcome,
        clauses=list(verdict.clauses), failing=verdict.failing, flagged=verdict.flagged, screened_at=at,
        applicant_name=dossier.applicant.name, applicant_credit_code=dossier.applicant.credit_code,
        platform_name=dossier.platform.name, region_code=dossier.applicant.region_code,
        city_code=submitted.city_code,
    )


async def verdict_on(repo: ScreeningRepository, event: ApplicationSubmitted) -> Verdict:
    """The rules' verdict on a submission, under the rule set its round names (unknown: dead-lettered)."""
    rule_set = await repo.rule_set(event.rule_set_version)
    if rule_set is None:
        raise Rejected(f"unknown rule set {event.rule_set_version!r}")
    return evaluate(event.dossier, rule_set, shanghai_date(event.submitted_at), {m.kind for m in event.materials})


def register(
    consumers: Consumers, uow: UnitOfWork, repo: ScreeningRepository, metrics: ScreeningMetrics, clock: Clock
) -> None:
    """Subscribe screening's handlers."""
    on = consumers.within(uow)

    @on(ApplicationSubmitted)
    async def on_submitted(event: ApplicationSubmitted, uow: EventUnit) -> list[Event]:
        verdict = await verdict_on(repo, event)
        await repo.take_turn(event.application_id, uow.session)  # the withdrawal handler reads what this writes
        if await repo.withdrawal(event.application_id, uow.session) >= event.revision:
            return []  # withdrawn before this submission was screened: no verdict to announce
        case = await repo.case(event.application_id, uow.session)
        if case and case.revision > event.revision:
            return []  # a later submission was screened already
        screened = screened_event(event, verdict, clock())
        await repo.save_case(chain.screened(case, screened, event.dossier), uow.session)
        await repo.save_screening(screening_record(screened), uow.session)
        uow.after_commit(lambda: metrics.observe(verdict, event.submitted_at, screened.screened_at))
        return [screened]

    @on(ApplicationWithdrawn)
    async def on_withdrawn(event: ApplicationWithdrawn, uow: EventUnit) -> list[Event]:
        await repo.take_turn(event.application_id, uow.session)
        await repo.record_withdrawal(event.application_id, event.revision, uow.session)
        case = await repo.case(event.application_id, uow.session)
        if case and case.stage is not Stage.WITHDRAWN:
            if case.stage in (Stage.EXCEPTION_REVIEW, Stage.EXPERT_REVIEW):
                await repo.release_quota(case.round_id, case.city_code, uow.session)  # the city may forward another
            await repo.save_case(chain.withdrawn(case, event.revision, clock()), uow.session)
        return []


def screening_record(e: ApplicationScreened) -> dict[str, Any]:
    return {"_id": f"{e.application_id}#{e.revision}", **e.model_dump(mode="json"), "screened_at": e.screened_at}
