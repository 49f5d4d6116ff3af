"""What an operator reads of a dead letter: the event's public fields when it carries personal data (a contact,
who sat on a panel), and any text with contacts and ID numbers masked; never the person behind it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import ApplicationSubmitted
from zhongshi_contracts.review import Decision, PanelMember, ReviewDecided
from zhongshi_runtime.dlq_api import readable_body

NOW = datetime(2026, 12, 4, 2, tzinfo=UTC)


def test_a_decision_is_shown_without_who_sat_on_its_panel() -> None:
    decided = ReviewDecided(
        application_id="A1", round_id="R1", decision=Decision.ACCREDIT, score=Decimal("88.5"), rank=1,
        rubric_version="v1", aggregation="trimmed_mean", panel=[PanelMember(expert_id="E-0007", total=Decimal(88))],
        overridden=False, justification="按分数排名", platform_name="平台", applicant_name="公司",
        applicant_credit_code="91420100MA4KXXXX0X", region_code="420111", city_code="420100", decided_at=NOW)
    shown = readable_body(decided.model_dump_json().encode(), ReviewDecided.ce_type())
    assert "E-0007" not in shown and '"application_id": "A1"' in shown and "按分数排名" in shown


def test_a_submission_is_shown_without_the_applicants_contact(make_dossier: Callable[..., Dossier]) -> None:
    dossier = make_dossier()
    submitted = ApplicationSubmitted(application_id="A1", round_id="R1", revision=1, rule_set_version="r",
                                     submitted_at=NOW, city_code="420100", dossier=dossier)
    shown = readable_body(submitted.model_dump_json().encode(), ApplicationSubmitted.ce_type())
    contact = dossier.applicant.contact
    assert dossier.applicant.name in shown and "contact" not in shown
    assert not any(value and value in shown for value in (contact.name, contact.phone, contact.email))


def test_a_body_that_does_not_parse_is_shown_with_contacts_and_id_numbers_masked() -> None:
    raw = '{"dossier": {"contact": {"phone": "13802710000", "email": "pilot0@example.cn"}, "id": "42011119800101123X"'
    shown = readable_body(raw.encode(), ApplicationSubmitted.ce_type())
    assert "13802710000" not in shown and "pilot0@" not in shown and "19800101" not in shown
    assert "138****0000" in shown and '"dossier"' in shown
    assert readable_body(b"\xff\xfe not utf-8 13802710000", "") == "\ufffd\ufffd not utf-8 138****0000"
