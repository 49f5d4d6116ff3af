"""Registry gauges for the progress dashboard: platforms toward the 2030 targets, by city, cluster and type.

Every city, cluster and platform type is exported (at zero until one is accredited) so the dashboard's
panels are never empty. Each replica reads the same figures from the statistics projection: aggregate with `max`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge
from zhongshi_contracts.reference import CLUSTERS, PLATFORM_TYPE_LABELS, hubei_cities

from zhongshi_registry.entries import Entry, Status
from zhongshi_registry.repository import RegistryPort
from zhongshi_registry.statistics import TARGET_NATIONAL, TARGET_PROVINCIAL, Counts, recount


@dataclass(frozen=True)
class Progress:
    """What the gauges show: counts by level and status, and the platforms in force by city, cluster, type."""

    levels: dict[str, int]
    statuses: Counter[str]
    by_city: Counter[str] = field(default_factory=Counter)
    by_cluster: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)


def progress_of(counts: Counts) -> Progress:
    """The gauges from the statistics counters: provincial platforms in force are accredited or under warning."""
    def by(prefix: str) -> Counter[str]:
        return Counter({k[len(prefix):]: n for k, n in counts.items() if k.startswith(prefix) and n})

    return Progress(
        levels={"provincial": counts.get("live", 0), "national": counts.get("national", 0),
                "cultivation": counts.get(f"status:{Status.CULTIVATION.value}", 0)},
        statuses=by("status:"), by_city=by("city:"), by_cluster=by("cluster:"), by_type=by("type:"))


def progress(entries: list[Entry]) -> Progress:
    """Count the registry from scratch (pure)."""
    return progress_of(recount(entries, []))


class RegistryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.target = Gauge("zhongshi_registry_target", "The 2030 target", ["level"], registry=registry)
        self.platforms = Gauge("zhongshi_registry_platforms",
                               "Provincial platforms in force, national platforms and cultivation objects",
                               ["level"], registry=registry)
        self.entries = Gauge("zhongshi_registry_entries", "Registry entries by status", ["status"], registry=registry)
        self.by_city = Gauge("zhongshi_registry_platforms_by_city", "Provincial platforms in force, by city",
                             ["city", "city_name"], registry=registry)
        self.by_cluster = Gauge("zhongshi_registry_platforms_by_cluster",
                                "Provincial platforms in force serving each 51020 cluster",
                                ["cluster", "cluster_name", "tier"], registry=registry)
        self.by_type = Gauge("zhongshi_registry_platforms_by_type", "Provincial platforms in force, by type",
                             ["type", "type_name"], registry=registry)
        self.target.labels("provincial").set(TARGET_PROVINCIAL)
        self.target.labels("national").set(TARGET_NATIONAL)
        self.show(progress([]))

    def show(self, now: Progress) -> None:
        for level, count in now.levels.items():
            self.platforms.labels(level).set(count)
        for status in Status:
            self.entries.labels(status.value).set(now.statuses[status.value])
        for code, name in hubei_cities().items():
            self.by_city.labels(code, name).set(now.by_city[code])
        for cluster, (name, tier) in CLUSTERS.items():
            self.by_cluster.labels(cluster.value, name, tier.value).set(now.by_cluster[cluster.value])
        for kind, label in PLATFORM_TYPE_LABELS.items():
            self.by_type.labels(kind.value, label).set(now.by_type[kind.value])

    async def refresh(self, repo: RegistryPort) -> None:
        """Read the statistics projection (one document; the service runs this periodically)."""
        self.show(progress_of(await repo.statistics()))
