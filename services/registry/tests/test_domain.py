"""Pure rules: working days on the Chinese calendar, publicity and objections, thresholds, certificates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import chinese_calendar
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from zhongshi_contracts.review import Decision
from zhongshi_registry import domain, workdays
from zhongshi_registry.certificates import (
    CertificateDocument,
    CertificateStatus,
    Signer,
    Verdict,
    canonical,
    verdict,
)
from zhongshi_registry.domain import DecisionRecord, Objection, ObjectionStatus, Refused
from zhongshi_registry.entries import AnnualReport, Thresholds, shortfalls
from zhongshi_registry.workdays import Calendar, HolidayNotice, HolidaySchedule

NOW = datetime(2025, 9, 26, 2, 0, tzinfo=UTC)


def decision(app_id: str, kind: Decision, rank: int = 1) -> DecisionRecord:
    return DecisionRecord(application_id=app_id, round_id="R1", decision=kind, score=Decimal("80.5"), rank=rank,
                          platform_name=f"平台{app_id}", applicant_name=f"公司{app_id}",
                          applicant_credit_code="91420100MA4KXXXX0X", region_code="420111", city_code="420100",
                          decided_at=NOW)


def test_five_working_days_from_30_september_2025_skip_national_day_and_count_11_october() -> None:
    assert LIBRARY.window(date(2025, 9, 30), 5) == date(2025, 10, 13)
    counted = [d for d in (date(2025, 9, 30) + timedelta(n) for n in range(14)) if chinese_calendar.is_workday(d)]
    assert counted[:5] == [date(2025, 9, 30), date(2025, 10, 9), date(2025, 10, 10), date(2025, 10, 11),
                           date(2025, 10, 13)]


def test_the_next_working_day_after_friday_26_september_2025_is_the_adjusted_sunday() -> None:
    assert chinese_calendar.is_workday(date(2025, 9, 28)) and chinese_calendar.is_holiday(date(2025, 10, 8))
    starts = LIBRARY.next_working_day(date(2025, 9, 26))
    assert starts == date(2025, 9, 28)
    assert LIBRARY.window(starts, 5) == date(2025, 10, 10)


def test_a_year_the_calendar_does_not_cover_is_refused_not_guessed() -> None:
    uncovered = date(2100, 1, 4)
    with pytest.raises(workdays.CalendarNotCovered, match="2100"):
        LIBRARY.next_working_day(uncovered)


LIBRARY = Calendar()
# A made-up schedule for 2100 (the library will not cover it): New Year's Day a Friday, Spring Festival
# Monday 8 to Friday 12 February with the Sunday before worked.
Y2100 = HolidaySchedule(year=2100, holidays=[date(2100, 1, 1), *(date(2100, 2, d) for d in range(8, 13))],
                        working_days=[date(2100, 2, 7)], source="国办发明电〔2099〕1号", entered_by="p1",
                        entered_at=NOW)


def test_a_year_the_library_lacks_counts_on_the_schedule_the_province_entered() -> None:
    calendar = Calendar([Y2100])
    assert not workdays.library_covers(2100) and workdays.library_covers(2025)
    assert calendar.next_working_day(date(2099, 12, 31)) == date(2100, 1, 4)  # 1 January off, then a weekend
    assert calendar.is_working_day(date(2100, 2, 7))  # the Sunday worked
    assert calendar.window(date(2100, 2, 5), 3) == date(2100, 2, 15)  # Fri 5, Sun 7, (holidays), Mon 15
    with pytest.raises(workdays.CalendarNotCovered, match="2101"):
        calendar.window(date(2100, 12, 31), 2)  # 2101: neither installed nor entered


def test_an_installed_year_ignores_an_entered_schedule() -> None:
    wrong = Y2100.model_copy(update={"year": 2025, "holidays": [date(2025, 9, 30)]})
    assert Calendar([wrong]).is_working_day(date(2025, 9, 30))


def test_a_notice_is_refused_when_it_works_a_weekday_or_both_works_and_rests_a_day() -> None:
    with pytest.raises(ValueError, match="不是周末"):
        HolidayNotice(holidays=[date(2100, 1, 1)], working_days=[date(2100, 1, 6)], source="国办发明电")
    with pytest.raises(ValueError, match="不能既放假又调休上班"):
        HolidayNotice(holidays=[date(2100, 2, 7)], working_days=[date(2100, 2, 7)], source="国办发明电")
    notice = HolidayNotice(holidays=[date(2100, 1, 1), date(2099, 12, 31)], source="国办发明电")
    assert notice.outside(2100) == [("holidays", 1)]


@given(st.dates(min_value=date(2005, 1, 1), max_value=date(2025, 12, 1)), st.integers(1, 10))
def test_a_window_holds_exactly_n_working_days(start: date, n: int) -> None:
    first = LIBRARY.next_working_day(start - timedelta(days=1)) if not chinese_calendar.is_workday(start) else start
    last = LIBRARY.window(first, n)
    days = [first + timedelta(k) for k in range((last - first).days + 1)]
    assert sum(chinese_calendar.is_workday(d) for d in days) == n and chinese_calendar.is_workday(last)


def publicity() -> domain.Publicity:
    decisions = [decision("A1", Decision.ACCREDIT), decision("A2", Decision.CULTIVATE, 2),
                 decision("A3", Decision.DECLINE, 3)]
    return domain.open_publicity("R1", decisions, {}, date(2025, 9, 26), 5, NOW, LIBRARY)


def objection(status: ObjectionStatus = ObjectionStatus.PENDING, app_id: str = "A1") -> Objection:
    return Objection(id="O1", round_id="R1", application_id=app_id, name="张三", contact="13800000000",
                     grounds="申报数据与实际不符", filed_at=NOW, status=status)


def test_declined_applications_are_not_publicised() -> None:
    assert [i.application_id for i in publicity().items] == ["A1", "A2"]


def test_publicity_waits_until_every_decision_the_confirmation_made_has_arrived() -> None:
    decided = [decision("A1", Decision.ACCREDIT).model_copy(update={"decided_in_round": 3}),
               decision("A3", Decision.DECLINE, 3).model_copy(update={"decided_in_round": 3})]
    with pytest.raises(Refused, match="尚有 1 项评审结果未送达"):  # A2's decision lags (or is dead-lettered)
        domain.open_publicity("R1", decided, {}, date(2025, 9, 26), 5, NOW, LIBRARY)
    decided.append(decision("A2", Decision.CULTIVATE, 2).model_copy(update={"decided_in_round": 3}))
    opened = domain.open_publicity("R1", decided, {}, date(2025, 9, 26), 5, NOW, LIBRARY)
    assert [i.application_id for i in opened.items] == ["A1", "A2"]


def test_objections_are_accepted_only_inside_the_window() -> None:
    p = publicity()
    domain.check_objection(p, "A1", date(2025, 9, 28))
    domain.check_objection(p, "A1", date(2025, 10, 10))
    for outside in (date(2025, 9, 27), date(2025, 10, 11)):
        with pytest.raises(Refused, match="不在公示期内"):
            domain.check_objection(p, "A1", outside)
    with pytest.raises(Refused, match="application_id"):
        domain.check_objection(p, "A3", date(2025, 9, 29))


def test_closing_waits_for_the_window_and_every_objection() -> None:
    p = publicity()
    with pytest.raises(Refused, match="届满"):
        domain.final_decisions(p, [], date(2025, 10, 10))
    with pytest.raises(Refused, match="O1"):
        domain.final_decisions(p, [objection()], date(2025, 10, 11))


def test_an_upheld_objection_declines_the_decision_and_a_dismissed_one_does_not() -> None:
    p = publicity()
    upheld = domain.resolve(objection(), True, "核实属实", NOW)
    finals = domain.final_decisions(p, [upheld], date(2025, 10, 11))
    assert [(f.decision, f.changed_by_objection) for f in finals] == [(Decision.DECLINE, True),
                                                                      (Decision.CULTIVATE, False)]
    dismissed = domain.resolve(objection(), False, "理由不成立", NOW)
    assert domain.final_decisions(p, [dismissed], date(2025, 10, 11))[0].decision is Decision.ACCREDIT
    with pytest.raises(Refused, match="已处理"):
        domain.resolve(upheld, False, "再议", NOW)


def report(**figures: object) -> AnnualReport:
    base: dict[str, object] = {"platform_id": "P1", "year": 2026, "service_projects": 5, "clients_served": 9,
                               "service_revenue": Decimal(5_000_000), "technology_transfers": 0,
                               "equipment_value": Decimal(10_000_000), "staff": 10, "filed_at": NOW}
    return AnnualReport.model_validate({**base, **figures})


def test_thresholds_at_the_boundary_pass_and_just_under_are_flagged() -> None:
    t = Thresholds()
    assert shortfalls(report(), t) == []
    assert shortfalls(report(service_revenue=Decimal(0), technology_transfers=3), t) == []
    low = report(equipment_value=Decimal("9999999.99"), staff=9, service_revenue=Decimal("4999999.99"),
                 technology_transfers=2)
    assert len(shortfalls(low, t)) == 3


def test_certificate_numbers_follow_the_rounds_format() -> None:
    assert domain.certificate_number("鄂中试〔{year}〕{seq:03d}号", 2026, 7) == "鄂中试〔2026〕007号"
    assert domain.certificate_number("HB-PILOT-{year}-{seq:03d}", 2026, 12) == "HB-PILOT-2026-012"


def test_a_certificate_is_valid_and_tampering_or_revocation_is_detected() -> None:
    signer = Signer(Ed25519PrivateKey.generate())
    doc = CertificateDocument(certificate_no="鄂中试〔2026〕001号", platform_id="P-A1", platform_name="光谷中试平台",
                              applicant_name="某公司", applicant_credit_code="91420100MA4KXXXX0X",
                              accredited_on=date(2026, 12, 9), round_id="R1", key_id=signer.key_id,
                              issued_on=date(2026, 12, 10), status="valid")
    signature = signer.sign(doc)
    assert canonical(doc).decode().startswith('{"accredited_on":"2026-12-09","applicant_credit_code"')
    assert "光谷" in canonical(doc).decode()
    assert verdict(signer, doc, signature, doc, revoked=False) is Verdict.VALID
    tampered = doc.model_copy(update={"platform_name": "别的平台"})
    assert verdict(signer, tampered, signature, doc, revoked=False) is Verdict.INVALID
    assert verdict(signer, doc, "not-base64!", doc, revoked=False) is Verdict.INVALID
    assert verdict(signer, doc, signature, doc, revoked=True) is Verdict.REVOKED
    assert verdict(signer, doc, signature, None, revoked=False) is Verdict.UNKNOWN
    later = doc.model_copy(update={"issued_on": date(2027, 1, 5)})  # the registry's copy of another day
    assert verdict(signer, doc, signature, later, revoked=False) is Verdict.VALID


def test_a_copy_issued_after_revocation_never_verifies_as_valid() -> None:
    signer = Signer(Ed25519PrivateKey.generate())
    doc = CertificateDocument(certificate_no="X1", platform_id="P-A1", platform_name="平台", applicant_name="某公司",
                              applicant_credit_code="91420100MA4KXXXX0X", accredited_on=date(2026, 12, 9),
                              round_id="R1", key_id=signer.key_id, issued_on=date(2027, 3, 1), status="revoked")
    signature = signer.sign(doc)
    assert verdict(signer, doc, signature, doc, revoked=False) is Verdict.REVOKED  # even if the registry lagged
    forged = doc.model_copy(update={"status": CertificateStatus.VALID})
    assert verdict(signer, forged, signature, doc, revoked=False) is Verdict.INVALID


def test_rotation_keeps_the_old_public_key_published(tmp_path: Path) -> None:
    from zhongshi_registry.certificates import rotate

    key_file, retired = tmp_path / "key.pem", tmp_path / "retired"
    old = Signer.from_file(key_file, create=True, retired_dir=retired)
    new_id = rotate(key_file, retired)
    reloaded = Signer.from_file(key_file, create=False, retired_dir=retired)
    assert reloaded.key_id == new_id != old.key_id
    assert set(reloaded.keys) == {old.key_id, new_id}
