"""Builders for chain tests: cases in a given stage, straight from a dossier."""

from __future__ import annotations

from datetime import UTC, datetime

from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.reference import region
from zhongshi_screening import chain
from zhongshi_screening.chain import Case, Stage
from zhongshi_screening.domain import evaluate
from zhongshi_screening.handlers import screened_event
from zhongshi_screening.rules import DEFAULT_RULE_SET

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def case_of(dossier: Dossier, app_id: str = "A1", stage: Stage = Stage.COUNTY_REVIEW, round_id: str = "R1") -> Case:
    from zhongshi_contracts.events import ApplicationSubmitted

    submitted = ApplicationSubmitted(
        application_id=app_id, round_id=round_id, revision=1, rule_set_version=DEFAULT_RULE_SET.version,
        submitted_at=NOW, city_code=region(dossier.applicant.region_code).city_code, dossier=dossier,
    )
    verdict = evaluate(dossier, DEFAULT_RULE_SET, NOW.date(), DEFAULT_RULE_SET.required_mechanism_kinds)
    case = chain.screened(None, screened_event(submitted, verdict, NOW), dossier)
    return case.model_copy(update={"stage": stage})
