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

        async def work(session: Session) -> list[ApplicationScreened]:
            app = await repo.application(event.application_id, session) or {}
            if app.get("withdrawn_revision", 0) >= event.revision:
                return []  # withdrawn before this submission was screened: no verdict to announce
            await repo.save_application(
                {**app, **application_record(screened), "status": verdict.outcome.value}, session
            )
            await repo.save_screening(screening_record(screened), session)
            return [screened]

        if await uow.run(work, consumed=Consumed("screening.on_submitted", meta, event.topic.name)):
            metrics.observe(verdict, event.submitted_at, screened.screened_at)

    @consumers.on(ApplicationWithdrawn)
    async def on_withdrawn(event: ApplicationWithdrawn, meta: CloudEvent) -> None:
        async def work(session: Session) -> list[Event]:
            app = await repo.application(event.application_id, session) or {"_id": event.application_id}
            await repo.save_application(
                {**app, "status": "withdrawn", "withdrawn_revision": event.revision,
                 "region_code": event.region_code, "city_code": event.city_code}, session,
            )
            return []

        await uow.run(work, consumed=Consumed("screening.on_withdrawn", meta, event.topic.name))


def application_record(e: ApplicationScreened) -> dict[str, Any]:
    return {
        "_id": e.application_id, "round_id": e.round_id, "revision": e.revision,
        "applicant_credit_code": e.applicant_credit_code, "applicant_name": e.applicant_name,
        "platform_name": e.platform_name, "region_code": e.region_code, "city_code": e.city_code,
    }


def screening_record(e: ApplicationScreened) -> dict[str, Any]:
    return {"_id": f"{e.application_id}#{e.revision}", **e.model_dump(mode="json"), "screened_at": e.screened_at}
