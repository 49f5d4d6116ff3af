"""The registry's statistics as counters (pure): what one entry or one candidacy contributes, and the public
statistics and gauges built from the counters. The counters are a projection kept in the same transaction
as every entry change (`projection.CountedStore`), so reading them costs one document, never the registry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from zhongshi_contracts.reference import (
    CLUSTERS,
    PLATFORM_TYPE_LABELS,
    TIER_LABELS,
    Cluster,
    PlatformType,
    hubei_cities,
)
from zhongshi_contracts.registry import NationalOutcome

from zhongshi_registry.entries import Entry, Status

TARGET_PROVINCIAL, TARGET_NATIONAL = 200, 1  # 《湖北省制造业中试平台培育建设工作指引》: by 2030
COUNTING = (Status.ACCREDITED, Status.WARNING)  # accredited platforms in force

Counts = Mapping[str, int]


def of_entry(entry: Entry) -> Counter[str]:
    """What one entry adds to the counters: its status, national upgrade, and — in force — city, tiers,
    clusters (each once), type and year of accreditation."""
    counts = Counter({f"status:{entry.status.value}": 1})
    if entry.national and entry.national.outcome is NationalOutcome.UPGRADED:
        counts["national"] += 1
    if entry.status in COUNTING:
        clusters = set(entry.clusters)
        counts.update(["live", f"city:{entry.city_code}", *(f"cluster:{c}" for c in clusters),
                       *{f"tier:{CLUSTERS[c][1].value}" for c in clusters}])
        if entry.platform_type:
            counts[f"type:{entry.platform_type.value}"] += 1
        if entry.accredited_on:
            counts[f"year:{entry.accredited_on.year}"] += 1
    return counts


def of_candidacy(city_code: str, candidate: bool) -> Counter[str]:
    """What one screened application adds: a candidate of its city, or nothing."""
    return Counter({f"candidates:{city_code}": 1}) if candidate else Counter()


def delta(before: Counts, after: Counts) -> dict[str, int]:
    """The change from ``before`` to ``after`` (negative where a count falls); empty when nothing changed."""
    return {k: d for k in sorted({*before, *after}) if (d := after.get(k, 0) - before.get(k, 0))}


def recount(entries: Iterable[Entry], candidacies: Iterable[tuple[str, bool]]) -> Counter[str]:
    """The counters from scratch (a database that has none yet, and the tests' oracle for the projection)."""
    total: Counter[str] = Counter()
    for entry in entries:
        total.update(of_entry(entry))
    for city, candidate in candidacies:
        total.update(of_candidacy(city, candidate))
    return total


def _by(counts: Counts, prefix: str) -> dict[str, int]:
    return {k[len(prefix):]: n for k, n in sorted(counts.items()) if k.startswith(prefix) and n}


def stats(counts: Counts) -> dict[str, Any]:
    """Progress toward 200 provincial and 1 national platform, and where it comes from."""
    cities, live = hubei_cities(), counts.get("live", 0)
    candidates = _by(counts, "candidates:")
    return {
        "targets": {"provincial": TARGET_PROVINCIAL, "national": TARGET_NATIONAL, "by": 2030},
        "accredited": {"provincial": live, "national": counts.get("national", 0),
                       "cultivation": counts.get(f"status:{Status.CULTIVATION.value}", 0),
                       "revoked": counts.get(f"status:{Status.REVOKED.value}", 0),
                       "provincial_progress_percent": round(100 * live / TARGET_PROVINCIAL, 1)},
        "candidates_by_city": [{"city_code": c, "city_name": cities[c], "candidates": candidates.get(c, 0)}
                               for c in sorted(cities)],
        "by_city": [{"city_code": c, "city_name": cities[c], "accredited": n}
                    for c, n in _by(counts, "city:").items()],
        "by_tier": {TIER_LABELS[t]: counts.get(f"tier:{t.value}", 0) for t in TIER_LABELS},
        "by_cluster": {CLUSTERS[Cluster(c)][0]: n for c, n in _by(counts, "cluster:").items()},
        "by_type": {PLATFORM_TYPE_LABELS[PlatformType(t)]: n for t, n in _by(counts, "type:").items()},
        "by_year": _by(counts, "year:"),
    }
