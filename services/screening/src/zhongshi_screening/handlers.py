"""Event handlers of screening: load, call the pure rules, save with the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationScreened, ApplicationSubmitted, ApplicationWithdrawn, Event
from zhongshi_runtime.clock import Clock, shanghai_date
from zhongshi_runtime.messaging import Consumers, Rejected
from zhongshi_runtime.outbox import Consumed, Session, UnitOfWork

from zhongshi_screening import chain
from zhongshi_screening.chain import Stage
from zhongshi_screening.domain import Verdict, evaluate
from zhongshi_screening.repository import ScreeningRepository


class ScreeningMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.verdicts = Counter(
            "zhongshi_screening_verdicts_total", "Screening verdicts by outcome", ["outcome"], registry=registry
        )
        self.failing_clauses = Counter(
            "zhongshi_screening_clause_results_total", "Clauses failed or flagged, by clause",
            ["clause", "status"], registry=registry,
        )
        self.latency = Histogram(
            "zhongshi_screening_latency_seconds", "Submission to screening verdict", registry=registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )

    def observe(self, verdict: Verdict, submitted_at: datetime, screened_at: datetime) -> None:
        self.verdicts.labels(verdict.outcome).inc()
        for clause in verdict.clauses:
            if clause.status != "pass":
                self.failing_clauses.labels(clause.clause, clause.status).inc()
        self.latency.observe(max(0.0, (screened_at - submitted_at).total_seconds()))


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


def register(
    consumers: Consumers, uow: UnitOfWork, repo: ScreeningRepository, metrics: ScreeningMetrics, clock: Clock
) -> None:
    """Subscribe screening's handlers."""

    @consumers.on(ApplicationSubmitted)
    async def on_submitted(event: ApplicationSubmitted, meta: CloudEvent) -> None:
        rule_set = await repo.rule_set(event.rule_set_version)
        if rule_set is None:
            raise Rejected(f"unknown rule set {event.rule_set_version!r}")
        verdict = evaluate(event.dossier, rule_set, shanghai_date(event.submitted_at))
        screened = screened_event(event, verdict, clock())

        async def work(session: Session) -> list[Event]:
            if await repo.withdrawal(event.application_id, session) >= event.revision:
                return []  # withdrawn before this submission was screened: no verdict to announce
            case = await repo.case(event.application_id, session)
            if case and case.revision > event.revision:
                return []  # a later submission was screened already
            await repo.save_case(chain.screened(case, screened, event.dossier), session)
            await repo.save_screening(screening_record(screened), session)
            return [screened]

        if await uow.run(work, consumed=Consumed("screening.on_submitted", meta, event.topic.name, event)):
            metrics.observe(verdict, event.submitted_at, screened.screened_at)

    @consumers.on(ApplicationWithdrawn)
    async def on_withdrawn(event: ApplicationWithdrawn, meta: CloudEvent) -> None:
        async def work(session: Session) -> list[Event]:
            await repo.record_withdrawal(event.application_id, event.revision, session)
            case = await repo.case(event.application_id, session)
            if case and case.stage is not Stage.WITHDRAWN:
                if case.stage in (Stage.EXCEPTION_REVIEW, Stage.EXPERT_REVIEW):
                    await repo.release_quota(case.round_id, case.city_code, session)  # the city may forward another
                await repo.save_case(chain.withdrawn(case, event.revision, clock()), session)
            return []

        await uow.run(work, consumed=Consumed("screening.on_withdrawn", meta, event.topic.name, event))


def screening_record(e: ApplicationScreened) -> dict[str, Any]:
    return {"_id": f"{e.application_id}#{e.revision}", **e.model_dump(mode="json"), "screened_at": e.screened_at}
