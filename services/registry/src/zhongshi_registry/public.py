"""Public registry views (pure): published fields only, list filters, and progress toward the 2030 targets."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field
from zhongshi_contracts.reference import (
    CLUSTERS,
    PLATFORM_TYPE_LABELS,
    TIER_LABELS,
    Cluster,
    PlatformType,
    hubei_cities,
)

from zhongshi_registry.entries import STATUS_LABELS, Entry, Status

TARGET_PROVINCIAL, TARGET_NATIONAL = 200, 1  # DIGEST §1, by 2030
PUBLISHED = ("id", "kind", "status", "round_id", "platform_name", "applicant_name", "applicant_credit_code",
             "region_code", "city_code", "platform_type", "clusters", "service_kinds", "listed_on",
             "certificate_no", "accredited_on", "previous_entry_id", "next_entry_id")
COUNTING = (Status.ACCREDITED, Status.WARNING)  # accredited platforms in force


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


def _counts(entries: list[Entry], key: Any) -> dict[str, int]:
    counter: Counter[str] = Counter()
    for e in entries:
        counter.update(key(e))
    return dict(sorted(counter.items()))


def stats(entries: list[Entry], candidates_by_city: dict[str, int]) -> dict[str, Any]:
    """Progress toward 200 provincial and 1 national platform, and where it comes from."""
    cities = hubei_cities()
    live = [e for e in entries if e.status in COUNTING]
    national = [e for e in entries if e.national and e.national.outcome == "upgraded"]
    cultivation = [e for e in entries if e.status is Status.CULTIVATION]
    return {
        "targets": {"provincial": TARGET_PROVINCIAL, "national": TARGET_NATIONAL, "by": 2030},
        "accredited": {"provincial": len(live), "national": len(national), "cultivation": len(cultivation),
                       "revoked": sum(e.status is Status.REVOKED for e in entries),
                       "provincial_progress_percent": round(100 * len(live) / TARGET_PROVINCIAL, 1)},
        "candidates_by_city": [{"city_code": c, "city_name": cities[c], "candidates": candidates_by_city.get(c, 0)}
                               for c in sorted(cities)],
        "by_city": [{"city_code": c, "city_name": cities[c], "accredited": n}
                    for c, n in _counts(live, lambda e: [e.city_code]).items()],
        "by_tier": {TIER_LABELS[t]: n for t, n in
                    ((t, sum(any(CLUSTERS[c][1] is t for c in e.clusters) for e in live)) for t in TIER_LABELS)},
        "by_cluster": {CLUSTERS[Cluster(c)][0]: n for c, n in _counts(live, lambda e: set(e.clusters)).items()},
        "by_type": {PLATFORM_TYPE_LABELS[PlatformType(t)]: n for t, n in
                    _counts([e for e in live if e.platform_type], lambda e: [e.platform_type]).items()},
        "by_year": _counts(live, lambda e: [str(e.accredited_on.year)] if e.accredited_on else []),
    }
