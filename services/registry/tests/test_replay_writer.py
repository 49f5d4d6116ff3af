"""The replay's writer (`zhongshi_registry.replay.Writer`) writes the registry into the database while it is still
being projected in memory, and the database ends equal to the projection, whatever changed after it was written."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import Event
from zhongshi_contracts.review import Decision
from zhongshi_registry.entries import Entry, Status
from zhongshi_registry.replay import Projector, Tracked, Writer, differences, project
from zhongshi_registry.repository import RegistryRepository

from zhongshi.polling import eventually

from .registry_fixtures import decision_of, profile_of

pytestmark = pytest.mark.integration


def listed(n: int, status: Status) -> Entry:
    return Entry(id=f"P-A{n}", kind="platform", status=status, application_id=f"A{n}", round_id="R1",
                 platform_name=f"平台{n}", applicant_name="某公司", applicant_credit_code="91420100MA4K0000XX",
                 region_code="420111", city_code="420100", platform_type=None, clusters=[], service_kinds=[],
                 listed_on=date(2026, 12, 1), certificate_no=f"鄂中试〔2026〕00{n}号", accredited_on=date(2026, 12, 1))


@pytest.fixture
async def writer(mongo_db: Any) -> Writer:
    """A writer into the empty test database, of a registry projected in tracked memory stores."""
    return Writer(RegistryRepository.memory(Tracked), mongo_db)


async def test_what_changed_after_it_was_written_is_written_again_and_the_database_ends_equal(
        writer: Writer, mongo_db: Any, make_dossier: Callable[..., Dossier]) -> None:
    memory, dossier = writer.memory, make_dossier()
    await memory.record_decision(decision_of(dossier, "A1", Decision.ACCREDIT, 1))
    await memory.keep_profile(profile_of(dossier, "A1"))
    await memory.save_entry(listed(1, Status.ACCREDITED))
    writer.flush()
    await memory.record_decision(decision_of(dossier, "A1", Decision.CULTIVATE, 3))  # after its hand-over
    await memory.save_entry(listed(1, Status.REVOKED))  # the counts move with it
    await memory.record_decision(decision_of(dossier, "A2", Decision.ACCREDIT, 1))
    writer.flush()
    await memory.claim_certificate_numbers(2026, 1)
    await writer.close()
    assert await differences(memory, RegistryRepository.mongo(mongo_db)) == []
    assert await mongo_db.decisions.count_documents({}) == 2
    assert (await mongo_db.entries.find_one({"_id": "P-A1"}))["status"] == "revoked"
    assert await mongo_db.sequences.count_documents({}) == 1


async def test_a_hand_over_is_written_while_the_projection_goes_on(
        writer: Writer, mongo_db: Any, make_dossier: Callable[..., Dossier]) -> None:
    memory, dossier = writer.memory, make_dossier()
    await memory.keep_profile(profile_of(dossier, "A1"))
    writer.flush()
    await eventually(lambda: _stored(mongo_db, "profiles"), "the profile written before the writer is closed",
                     timeout=30)
    await memory.keep_profile(profile_of(dossier, "A2"))
    await writer.close()
    assert await mongo_db.profiles.count_documents({}) == 2


async def test_a_projection_that_fails_stops_the_writes_still_waiting(
        writer: Writer, make_dossier: Callable[..., Dossier]) -> None:
    memory, dossier = writer.memory, make_dossier()
    await memory.keep_profile(profile_of(dossier, "A1"))
    writer.flush()

    def broken() -> Iterator[tuple[CloudEvent, Event]]:
        raise RuntimeError("the log broke")
        yield  # a generator

    with pytest.raises(RuntimeError, match="the log broke"):
        await project(broken(), Projector(memory), writer)
    with pytest.raises(asyncio.CancelledError):
        await writer.last


async def _stored(db: Any, name: str) -> bool | None:
    return await db[name].count_documents({}) > 0 or None
