"""Public registry views (pure): published fields only and the list filters."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field
from zhongshi_contracts.reference import CLUSTERS

from zhongshi_registry.entries import STATUS_LABELS, Entry

PUBLISHED = ("id", "kind", "status", "round_id", "platform_name", "applicant_name", "applicant_credit_code",
             "region_code", "city_code", "platform_type", "clusters", "service_kinds", "listed_on",
             "certificate_no", "accredited_on", "previous_entry_id", "next_entry_id")


class Filters(BaseModel):
    city: str | None = Field(None, description="City-level code, e.g. 420100.")
    county: str | None = Field(None, description="County-level code.")
    cluster: str | None = None
    tier: str | None = Field(None, description="trillion | five_hundred_billion | hundred_billion")
    type: str | None = Field(None, description="Platform type.")
    status: str | None = None
    service_kind: str | None = None
    q: str | None = Field(None, max_length=100, description="Text in the platform or applicant name.")

    def matches(self, e: Entry) -> bool:
        tiers = {CLUSTERS[c][1].value for c in e.clusters}
        checks = [
            self.city is None or e.city_code == self.city,
            self.county is None or e.region_code == self.county,
            self.cluster is None or self.cluster in e.clusters,
            self.tier is None or self.tier in tiers,
            self.type is None or e.platform_type == self.type,
            self.status is None or e.status == self.status,
            self.service_kind is None or self.service_kind in e.service_kinds,
            not self.q or self.q in e.platform_name or self.q in e.applicant_name,
        ]
        return all(checks)

    def mongo_query(self) -> dict[str, Any]:
        """The same filters as a MongoDB query, so the database filters and pages (indexes in repository)."""
        query: dict[str, Any] = {field: value for field, value in (
            ("city_code", self.city), ("region_code", self.county), ("clusters", self.cluster),
            ("platform_type", self.type), ("status", self.status), ("service_kinds", self.service_kind))
            if value is not None}
        if self.tier is not None:
            query.setdefault("$and", []).append(
                {"clusters": {"$in": [c.value for c, (_, tier) in CLUSTERS.items() if tier.value == self.tier]}})
        if self.q:
            text = {"$regex": re.escape(self.q)}
            query.setdefault("$and", []).append({"$or": [{"platform_name": text}, {"applicant_name": text}]})
        return query


def published(entry: Entry) -> dict[str, Any]:
    """An entry as the public sees it: registry data, labels and history actions; no contacts, no notes."""
    data = entry.model_dump(mode="json", include=set(PUBLISHED))
    data["status_label"] = STATUS_LABELS[entry.status]
    data["national_outcome"] = entry.national.outcome if entry.national else None
    data["history"] = [{"at": h.at.isoformat(), "action": h.action} for h in entry.history]
    return data


def page(total: int, entries: list[Entry], offset: int, limit: int) -> dict[str, Any]:
    return {"total": total, "offset": offset, "limit": limit, "items": [published(e) for e in entries]}
