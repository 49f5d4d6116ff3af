"""Reading the log back (`zhongshi_runtime.replay`): the records are ordered by when they happened, and their
bodies parsed one by one as a replay takes them, each ``ce_id`` once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zhongshi_contracts import topics
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import ApplicationWithdrawn
from zhongshi_runtime.replay import Log, Record, Records

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def record(app_id: str, minute: int, *, ce_id: str | None = None, body: bytes | None = None) -> Record:
    envelope = CloudEvent.new(topics.APPLICATION_WITHDRAWN, source="/zhongshi/intake", subject=app_id,
                              at=AT + timedelta(minutes=minute))
    if ce_id is not None:
        envelope = envelope.model_copy(update={"id": ce_id})
    event = ApplicationWithdrawn(application_id=app_id, round_id="R1", revision=1, withdrawn_at=envelope.time,
                                 reason="不再申报", applicant_credit_code="91420100MA4K0000XX", region_code="420111",
                                 city_code="420100")
    return Record(envelope, ApplicationWithdrawn, event.model_dump_json().encode() if body is None else body,
                  f"pilot.application.withdrawn[0]@{minute}")


def test_each_event_is_parsed_once_and_a_copy_after_an_unreadable_body_is_used() -> None:
    records = Records(read=[record("A1", 0, ce_id="e1", body=b"{not json"), record("A1", 0, ce_id="e1"),
                            record("A2", 1, ce_id="e2"), record("A2", 1, ce_id="e2")],
                      unreadable=["pilot.application.withdrawn[1]@7: no ce_id"])
    log = Log()
    events = [(envelope.id, event.application_id) for envelope, event in records.events(log)]
    assert events == [("e1", "A1"), ("e2", "A2")]
    assert (log.records, log.duplicates) == (5, 1)
    assert log.unreadable[0] == "pilot.application.withdrawn[1]@7: no ce_id"
    assert log.unreadable[1].startswith("pilot.application.withdrawn[0]@0: ")


def test_bodies_are_parsed_only_as_the_replay_takes_them() -> None:
    records = Records(read=[record("A1", 0), record("A2", 1, body=b"{not json")])
    log = Log()
    events = records.events(log)
    assert next(events)[1].application_id == "A1"
    assert log.unreadable == []  # the second body is not parsed yet
    assert list(events) == [] and len(log.unreadable) == 1
