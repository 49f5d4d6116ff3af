"""The audit module over the in-memory unit of work, and the formula-safe table exports."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from starlette.requests import Request
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import Event
from zhongshi_contracts.registry import PublicityClosed
from zhongshi_runtime.audit import REQUEST_ID_HEADER, SERVICE_ROLE, Audit
from zhongshi_runtime.auth import Principal, Role
from zhongshi_runtime.outbox import Consumed, Session
from zhongshi_runtime.tables import csv_bytes, neutralise, xlsx_bytes
from zhongshi_runtime.testing import InMemoryUnitOfWork

from .test_outbox import withdrawn

OFFICIAL = Principal(subject="u-zhang", role=Role.PROVINCE_OFFICIAL, organisation="42", name="张三")


def request(headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": raw})


def consumed(event: Event, handler: str = "probe.on_event") -> Consumed:
    meta = CloudEvent.new(event.topic, source="/test", subject=event.application_id)
    return Consumed(handler, meta, event.topic.name, event)


async def test_a_request_writes_one_record_with_the_person_and_the_work_s_refinements() -> None:
    uow, changes = InMemoryUnitOfWork("probe"), []
    audit = Audit.request(OFFICIAL, request({REQUEST_ID_HEADER: "req-1"}), "application.withdraw", "application",
                          "A1", application_ids=["A1"], reason="不再申报")

    async def work(session: Session) -> list[Event]:
        changes.append("A1")
        audit.round_id, audit.outcome = "R1", "withdrawn"
        return [withdrawn()]

    assert await uow.run(work, audit=audit) is True
    [record] = uow.audit
    assert (record.actor_subject, record.actor_name, record.actor_role, record.actor_organisation) == (
        "u-zhang", "张三", "province_official", "42")
    assert (record.service, record.action, record.target_kind, record.target_id) == (
        "probe", "application.withdraw", "application", "A1")
    assert (record.application_ids, record.round_id, record.reason, record.outcome, record.request_id) == (
        ["A1"], "R1", "不再申报", "withdrawn", "req-1")


async def test_without_a_request_id_header_one_is_made_up() -> None:
    first = Audit.request(OFFICIAL, request(), "x", "round", "R1")
    second = Audit.request(OFFICIAL, request(), "x", "round", "R1")
    assert first.request_id and first.request_id != second.request_id


async def test_a_unit_of_work_without_an_audit_is_refused_before_it_changes_anything() -> None:
    uow, changes = InMemoryUnitOfWork(), []

    async def work(session: Session) -> list[Event]:
        changes.append(1)
        return []

    with pytest.raises(TypeError, match="audit"):
        await uow.run(work)
    assert changes == [] and uow.audit == []


async def test_work_that_fails_leaves_no_record() -> None:
    uow = InMemoryUnitOfWork()

    async def work(session: Session) -> list[Event]:
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        await uow.run(work, audit=Audit.request(OFFICIAL, request(), "round.open", "round", "R1"))
    assert uow.audit == [] and uow.published == []


async def test_a_consumed_event_is_audited_as_the_service_with_handler_and_event_id_once() -> None:
    uow = InMemoryUnitOfWork("intake")
    event = withdrawn()
    taken = consumed(event, "intake.on_withdrawn")

    async def work(session: Session) -> list[Event]:
        return []

    assert await uow.run(work, consumed=taken) is True
    assert await uow.run(work, consumed=taken) is False  # redelivered: no second record
    [record] = uow.audit
    assert (record.actor_subject, record.actor_role, record.action, record.event_id) == (
        "service:intake", SERVICE_ROLE, "intake.on_withdrawn", taken.event.id)
    assert (record.target_kind, record.target_id, record.application_ids, record.round_id) == (
        "application", "A1", ["A1"], "R1")


async def test_an_event_keyed_by_its_round_targets_the_round_not_an_application() -> None:
    closed = PublicityClosed.model_validate({"application_id": "R1", "round_id": "R1", "decisions": [],
                                             "closed_at": "2026-12-01T00:00:00Z", "objections": []})
    audit = Audit.consumed("registry", consumed(closed))
    assert (audit.target_kind, audit.target_id, audit.application_ids, audit.round_id) == ("round", "R1", [], "R1")


def test_touches_adds_each_application_once() -> None:
    audit = Audit.request(OFFICIAL, request(), "decision.confirm", "round", "R1", application_ids=["A1"])
    audit.touches(["A1", "A2", "A2"])
    assert audit.application_ids == ["A1", "A2"]


@pytest.mark.parametrize("cell", ["=1+1", "+86", "-2", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")"])
def test_formula_cells_are_neutralised(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["张三", "1+1", "a=b", "", "'=already"])
def test_other_cells_are_kept(cell: str) -> None:
    assert neutralise(cell) == cell


def test_csv_and_xlsx_exports_carry_no_formula() -> None:
    table: tuple[list[str], list[list[str]]] = (["=H"], [["=cmd|' /C calc'!A0", "正常"], ["@x", "-1"]])
    rows = list(csv.reader(io.StringIO(csv_bytes(table).decode("utf-8-sig"))))
    assert rows == [["'=H"], ["'=cmd|' /C calc'!A0", "正常"], ["'@x", "'-1"]]
    sheet: Any = load_workbook(io.BytesIO(xlsx_bytes(table, "审计"))).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values == [["'=H", None], ["'=cmd|' /C calc'!A0", "正常"], ["'@x", "'-1"]]
    assert all(c.data_type == "s" for row in sheet.iter_rows() for c in row if c.value is not None)
