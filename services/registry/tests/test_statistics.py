"""The statistics projection: after any sequence of entry and candidacy changes, the counters kept in the
same write equal a recount of the registry, and the public statistics built from them equal the ones
computed from every entry (the former implementation, kept here as the oracle)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from zhongshi_contracts.reference import CLUSTERS, PLATFORM_TYPE_LABELS, TIER_LABELS, Cluster, PlatformType
from zhongshi_contracts.reference import hubei_cities as cities_of
from zhongshi_contracts.registry import NationalOutcome
from zhongshi_registry import statistics
from zhongshi_registry.entries import Entry, National, Status
from zhongshi_registry.metrics import progress, progress_of
from zhongshi_registry.repository import Candidacy, RegistryRepository, ensure_statistics

CITIES = sorted(cities_of())[:4]


def oracle(entries: list[Entry], candidates_by_city: dict[str, int]) -> dict[str, Any]:
    """The statistics as `/public/stats` computed them from every entry before the projection."""
    def counts(items: list[Entry], key: Any) -> dict[str, int]:
        counter: Counter[str] = Counter()
        for e in items:
            counter.update(key(e))
        return dict(sorted(counter.items()))

    cities = cities_of()
    live = [e for e in entries if e.status in statistics.COUNTING]
    national = [e for e in entries if e.national and e.national.outcome == "upgraded"]
    return {
        "targets": {"provincial": 200, "national": 1, "by": 2030},
        "accredited": {"provincial": len(live), "national": len(national),
                       "cultivation": sum(e.status is Status.CULTIVATION for e in entries),
                       "revoked": sum(e.status is Status.REVOKED for e in entries),
                       "provincial_progress_percent": round(100 * len(live) / 200, 1)},
        "candidates_by_city": [{"city_code": c, "city_name": cities[c], "candidates": candidates_by_city.get(c, 0)}
                               for c in sorted(cities)],
        "by_city": [{"city_code": c, "city_name": cities[c], "accredited": n}
                    for c, n in counts(live, lambda e: [e.city_code]).items()],
        "by_tier": {TIER_LABELS[t]: n for t, n in
                    ((t, sum(any(CLUSTERS[c][1] is t for c in e.clusters) for e in live)) for t in TIER_LABELS)},
        "by_cluster": {CLUSTERS[Cluster(c)][0]: n for c, n in counts(live, lambda e: set(e.clusters)).items()},
        "by_type": {PLATFORM_TYPE_LABELS[PlatformType(t)]: n for t, n in
                    counts([e for e in live if e.platform_type], lambda e: [e.platform_type]).items()},
        "by_year": counts(live, lambda e: [str(e.accredited_on.year)] if e.accredited_on else []),
    }


entries = st.builds(
    lambda n, status, city, clusters, kind, year, national: Entry(
        id=f"P{n}", kind="platform", status=status, application_id=f"A{n}", round_id="R1", platform_name="平台",
        applicant_name="某公司", applicant_credit_code="c", region_code=city[:4] + "02", city_code=city,
        platform_type=kind, clusters=clusters, service_kinds=[], listed_on=date(2026, 12, 7),
        accredited_on=date(year, 12, 7) if year else None,
        national=National(profile={}, outcome=national, recommended_at=datetime(2027, 3, 1, tzinfo=UTC))
        if national else None),
    n=st.integers(0, 5), status=st.sampled_from(Status), city=st.sampled_from(CITIES),
    clusters=st.lists(st.sampled_from(list(Cluster)[:5]), max_size=3), kind=st.none() | st.sampled_from(PlatformType),
    year=st.sampled_from([None, 2026, 2027]), national=st.none() | st.sampled_from(NationalOutcome))
candidacies = st.builds(lambda n, city, candidate, withdrawn: (f"A{n}", Candidacy(
    round_id="R1", city_code=city, candidate=candidate, withdrawn=withdrawn)),
    n=st.integers(0, 5), city=st.sampled_from(CITIES), candidate=st.booleans(), withdrawn=st.booleans())


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {k: n for k, n in counts.items() if n}


@settings(max_examples=60)
@given(changes=st.lists(entries | candidacies, min_size=1, max_size=25))
async def test_the_counters_equal_a_recount_after_every_change(changes: list[Any]) -> None:
    repo = RegistryRepository.memory()
    for change in changes:  # an entry listed, warned, revoked, upgraded… or a candidacy screened again or withdrawn
        if isinstance(change, Entry):
            await repo.entries.put(change.id, change)
        else:
            await repo.pipeline.put(*change)
        stored, pipeline = await repo.entries.find(), await repo.pipeline.find()
        counts = await repo.tallies.counts()
        counted = [c for c in pipeline if c.candidate and not c.withdrawn]
        assert nonzero(counts) == nonzero(dict(statistics.recount(
            stored, [(c.city_code, c in counted) for c in pipeline])))
        by_city = Counter(c.city_code for c in counted)
        assert statistics.stats(counts) == oracle(stored, dict(by_city))
        assert progress_of(counts) == progress(stored)


async def test_a_registry_stored_before_the_projection_is_counted_once_at_start() -> None:
    repo = RegistryRepository.memory()
    entry = Entry(id="P1", kind="platform", status=Status.ACCREDITED, application_id="A1", round_id="R1",
                  platform_name="平台", applicant_name="某公司", applicant_credit_code="c", region_code="420102",
                  city_code="420100", platform_type=None, clusters=[], service_kinds=[], listed_on=date(2026, 12, 7))
    await repo.collections["entries"].put("P1", entry)  # as an older release stored it: no counters
    await ensure_statistics(repo)
    await ensure_statistics(repo)
    assert nonzero(await repo.tallies.counts()) == {"live": 1, "city:420100": 1, "status:accredited": 1}
