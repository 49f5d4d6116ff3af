"""The registry's progress gauges: platforms in force toward the 2030 targets, by city, cluster and type."""

from __future__ import annotations

from datetime import UTC, date, datetime

from prometheus_client import CollectorRegistry
from zhongshi_contracts.reference import Cluster, PlatformType, hubei_cities
from zhongshi_contracts.registry import NationalOutcome
from zhongshi_registry.entries import Entry, National, Status
from zhongshi_registry.metrics import RegistryMetrics, progress


def entry(n: int, status: Status, city: str = "420100", clusters: tuple[Cluster, ...] = (Cluster.LASER,),
          national: NationalOutcome | None = None) -> Entry:
    return Entry(id=f"P{n}", kind="cultivation" if status is Status.CULTIVATION else "platform", status=status,
                 application_id=f"A{n}", round_id="R1", platform_name=f"平台{n}", applicant_name="某公司",
                 applicant_credit_code="91420100MA4KXXXX0X", region_code=city[:4] + "02", city_code=city,
                 platform_type=PlatformType.JOINT_CONSTRUCTION, clusters=list(clusters), service_kinds=[],
                 listed_on=date(2026, 12, 7),
                 national=National(profile={}, outcome=national, recommended_at=datetime(2027, 3, 1, tzinfo=UTC))
                 if national else None)


REGISTRY = [
    entry(1, Status.ACCREDITED, clusters=(Cluster.LASER, Cluster.LASER)),
    entry(2, Status.WARNING, city="420500", national=NationalOutcome.UPGRADED),
    entry(3, Status.REVOKED),
    entry(4, Status.CULTIVATION, city="420500"),
]


def test_platforms_in_force_are_the_accredited_and_those_under_warning() -> None:
    counted = progress(REGISTRY)
    assert counted.levels == {"provincial": 2, "national": 1, "cultivation": 1}
    assert counted.by_city == {"420100": 1, "420500": 1}
    assert counted.by_cluster == {Cluster.LASER.value: 2}  # a cluster named twice counts once
    assert counted.statuses["revoked"] == 1


def test_every_city_cluster_and_type_is_exported_even_at_zero() -> None:
    registry = CollectorRegistry()
    metrics = RegistryMetrics(registry)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("zhongshi_registry_target", level="provincial") == 200
    assert value("zhongshi_registry_target", level="national") == 1
    assert value("zhongshi_registry_platforms", level="provincial") == 0
    cities = hubei_cities()
    assert all(value("zhongshi_registry_platforms_by_city", city=c, city_name=n) == 0 for c, n in cities.items())
    metrics.show(progress(REGISTRY))
    assert value("zhongshi_registry_platforms", level="provincial") == 2
    assert value("zhongshi_registry_platforms_by_city", city="420500", city_name=cities["420500"]) == 1
    assert value("zhongshi_registry_platforms_by_type", type="joint_construction", type_name="多元主体联合共建") == 2
    assert value("zhongshi_registry_entries", status="cultivation") == 1
    laser = [s for m in registry.collect() if m.name == "zhongshi_registry_platforms_by_cluster"
             for s in m.samples if s.labels["cluster"] == Cluster.LASER.value]
    assert [s.value for s in laser] == [2]
    series = sum(len(m.samples) for m in registry.collect() if m.name == "zhongshi_registry_platforms_by_cluster")
    assert series == 35
