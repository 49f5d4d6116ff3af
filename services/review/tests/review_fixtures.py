"""Builders for review tests: candidates from dossiers, and experts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.reference import region
from zhongshi_review.domain import Candidate
from zhongshi_review.pool import Expert

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def candidate_of(dossier: Dossier, app_id: str = "A1", priority: int = 1, round_id: str = "R1") -> Candidate:
    return Candidate(
        id=app_id, round_id=round_id, revision=1, applicant_name=dossier.applicant.name,
        applicant_credit_code=dossier.applicant.credit_code, platform_name=dossier.platform.name,
        region_code=dossier.applicant.region_code, city_code=region(dossier.applicant.region_code).city_code,
        priority=priority, forwarded_at=NOW, awaiting_exception=False, dossier=dossier, clauses=[], opinions=[],
    )


def expert(n: int, fields: list[str], **extra: Any) -> Expert:
    return Expert.model_validate({"id": f"E{n:03d}", "name": f"专家{n}", "organisation": f"某大学{n}",
                                  "title": "教授", "fields": fields, "region_code": "420111", **extra})
