"""The registry's port (`RegistryPort`), one contract for the in-memory fake and the MongoDB adapter: what the
use cases, handlers and replay read back is what they wrote, found by the domain's own questions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.review import Decision
from zhongshi_registry import repository
from zhongshi_registry.domain import Objection, ObjectionStatus, Publicity
from zhongshi_registry.entries import AnnualReport, Entry, Status
from zhongshi_registry.repository import RegistryPort, RegistryRepository
from zhongshi_registry.workdays import HolidaySchedule

from .registry_fixtures import decision_of, profile_of

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
def repo(request: pytest.FixtureRequest) -> RegistryPort:
    if request.param == "memory":
        return RegistryRepository.memory()
    return RegistryRepository.mongo(request.getfixturevalue("mongo_db"))


def entry(n: int, credit_code: str, status: Status, listed_on: date) -> Entry:
    accredited = status is not Status.CULTIVATION
    return Entry(id=f"P-A{n}", kind="platform" if accredited else "cultivation", status=status, application_id=f"A{n}",
                 round_id="R1", platform_name=f"平台{n}", applicant_name="某公司", applicant_credit_code=credit_code,
                 region_code="420111", city_code="420100", platform_type=None, clusters=[], service_kinds=[],
                 listed_on=listed_on, certificate_no=f"鄂中试〔2026〕00{n}号" if accredited else None,
                 accredited_on=listed_on if accredited else None)


def objection(n: int, round_id: str, objector: str, status: ObjectionStatus = ObjectionStatus.PENDING) -> Objection:
    return Objection(id=f"OBJ-{n}", round_id=round_id, application_id="A1", name="张三", contact="13800000000",
                     grounds="该平台申报的设备原值与实际不符。", objector=objector, filed_at=NOW, status=status)


async def test_decisions_and_profiles_are_found_by_round_and_by_application(
        repo: RegistryPort, make_dossier: Callable[..., Dossier]) -> None:
    for i, round_id in enumerate(("R1", "R1", "R2")):
        await repo.record_decision(decision_of(make_dossier(i), f"A{i}", Decision.ACCREDIT, i + 1, round_id))
        await repo.keep_profile(profile_of(make_dossier(i), f"A{i}", round_id))
    assert sorted(d.application_id for d in await repo.decisions_of_round("R1")) == ["A0", "A1"]
    assert sorted(await repo.profiles_of_round("R1")) == ["A0", "A1"]
    assert getattr(await repo.decision_of("A2"), "round_id", None) == "R2"
    assert getattr(await repo.profile_of("A2"), "round_id", None) == "R2"
    assert await repo.decision_of("A9") is None and await repo.profile_of("A9") is None


async def test_a_round_opens_its_publicity_once(repo: RegistryPort) -> None:
    publicity = Publicity(round_id="R1", working_days=5, starts_on=date(2026, 11, 30), ends_on=date(2026, 12, 4),
                          opened_at=NOW, items=[])
    assert await repo.open_publicity(publicity, None) is True
    assert await repo.open_publicity(publicity.model_copy(update={"working_days": 7}), None) is False
    assert await repo.publicity_of("R1") == publicity
    await repo.save_publicity(publicity.model_copy(update={"closed_at": NOW}))
    assert getattr(await repo.publicity_of("R1"), "closed_at", None) == NOW
    assert await repo.publicity_of("R2") is None


async def test_only_the_objectors_own_pending_objections_of_the_round_count_against_its_cap(
        repo: RegistryPort) -> None:
    for o in (objection(1, "R1", "person:a"), objection(2, "R1", "person:a", ObjectionStatus.DISMISSED),
              objection(3, "R1", "person:b"), objection(4, "R2", "person:a")):
        await repo.save_objection(o)
    assert [o.id for o in await repo.pending_objections_by("R1", "person:a")] == ["OBJ-1"]
    assert sorted(o.id for o in await repo.objections_of_round("R1")) == ["OBJ-1", "OBJ-2", "OBJ-3"]
    assert getattr(await repo.objection("OBJ-2"), "status", None) is ObjectionStatus.DISMISSED


async def test_an_accreditation_upgrades_the_applicants_latest_cultivation_object(repo: RegistryPort) -> None:
    day = date(2026, 1, 5)
    for e in (entry(1, "C1", Status.CULTIVATION, day), entry(2, "C1", Status.CULTIVATION, day + timedelta(days=90)),
              entry(3, "C1", Status.ACCREDITED, day + timedelta(days=200)), entry(4, "C2", Status.CULTIVATION, day)):
        await repo.save_entry(e)
    assert getattr(await repo.latest_cultivation_of("C1"), "id", None) == "P-A2"
    assert await repo.latest_cultivation_of("C3") is None
    assert getattr(await repo.entry_by_certificate("鄂中试〔2026〕003号"), "id", None) == "P-A3"
    assert await repo.entry_by_certificate("鄂中试〔2026〕009号") is None
    assert len(await repo.all_entries()) == 4
    assert getattr(await repo.entry("P-A4"), "status", None) is Status.CULTIVATION


async def test_every_entry_is_read_a_batch_at_a_time(repo: RegistryPort, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repository, "EACH_BATCH", 2)
    for n in range(5):
        await repo.save_entry(entry(n, f"C{n}", Status.ACCREDITED, date(2026, 1, 5)))
    assert sorted([e async for e in repo.each_entry()], key=lambda e: e.id) == await repo.all_entries()


async def test_certificate_numbers_run_on_per_year_across_claims(repo: RegistryPort) -> None:
    assert list(await repo.claim_certificate_numbers(2026, 2)) == [1, 2]
    assert list(await repo.claim_certificate_numbers(2026, 0)) == []  # a round with no accreditation
    assert list(await repo.claim_certificate_numbers(2026, 1)) == [3]
    assert list(await repo.claim_certificate_numbers(2027, 1)) == [1]


async def test_annual_reports_are_kept_one_a_platform_and_year(repo: RegistryPort) -> None:
    def report(platform_id: str, year: int, staff: int) -> AnnualReport:
        return AnnualReport(platform_id=platform_id, year=year, service_projects=1, clients_served=1,
                            service_revenue=0, technology_transfers=0, equipment_value=0, staff=staff, filed_at=NOW)
    for r in (report("P-A1", 2026, 5), report("P-A1", 2026, 9), report("P-A1", 2027, 1), report("P-A2", 2026, 2)):
        await repo.file_report(r)
    assert sorted((r.year, r.staff) for r in await repo.reports_of("P-A1")) == [(2026, 9), (2027, 1)]
    assert sorted(r.platform_id for r in await repo.reports_in(2026)) == ["P-A1", "P-A2"]


async def test_an_entered_holiday_schedule_is_found_by_its_year(repo: RegistryPort) -> None:
    schedule = HolidaySchedule(holidays=[date(2099, 1, 1)], source="国务院办公厅通知", year=2099, entered_by="p",
                               entered_at=NOW)
    await repo.enter_holiday_schedule(schedule, None)
    assert await repo.holiday_schedule(2099) == schedule and await repo.holiday_schedules() == [schedule]
    assert await repo.holiday_schedule(2098) is None
