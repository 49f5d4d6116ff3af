"""Two events of one application planned at once, on the real database: the one that reads what the other writes
runs again on what the other committed, so no delivery is left waiting for a contact that was saved."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from zhongshi_contracts.dossier import Dossier
from zhongshi_contracts.events import Event
from zhongshi_notify.planning import Channel, Status
from zhongshi_notify.repository import MongoNotifyRepository, Reach
from zhongshi_runtime.outbox import Consumed, Session
from zhongshi_runtime.testing import Gate, meta_of, race, watched
from zhongshi_runtime.turns import ensure_turns

from .samples import recommended, screened, submitted
from .test_delivery_integration import Notify

pytestmark = pytest.mark.integration


class GatedRepository(MongoNotifyRepository):
    """Pauses the first bulk read of contacts inside a transaction once the gate is armed."""

    gate = Gate()

    async def reach(self, applications: Iterable[str], officials: Iterable[str], recipients: Iterable[str],
                    session: Session = None) -> Reach:
        found = await super().reach(applications, officials, recipients, session)
        await self.gate.pause()
        return found


async def planned(notify: Notify, event: Event) -> None:
    """``event`` planned as notify's handler plans it: in a unit of work that consumes it."""
    meta = meta_of(event)

    async def work(session: Session) -> list[Event]:
        await notify.planner.plan(event, meta, session)
        return []

    await notify.uow.run(work, consumed=Consumed("notify.test", meta, event.topic.name, event))


async def test_a_recommendation_planned_while_the_submission_saves_the_contact_is_addressed(
        mongo_db: Any, scratch_uri: str, make_dossier: Callable[..., Dossier]) -> None:
    """The submission arrives late (its topic lagged): the case is already past it, so its handler writes only the
    contact and addresses what waits for it, while the recommendation's handler, which read no contact, queues
    deliveries to wait. Without the application's turn both commit and those deliveries wait for good."""
    db, commands = watched(scratch_uri, mongo_db.name)
    notify = Notify(db, [Channel.EMAIL])
    notify.repo = notify.planner.repo = GatedRepository(db)
    for ensure in (notify.repo.ensure_indexes(), notify.store.ensure_indexes(), ensure_turns(db)):
        await ensure
    d = make_dossier()
    await planned(notify, screened(d))  # the case is at county review before the submission is read
    await race(planned(notify, recommended(d)), planned(notify, submitted(d)), GatedRepository.gate, commands)
    applicant = [x for x in await notify.store.deliveries(Channel.EMAIL) if x.application_id == "A1"
                 and x.recipient == d.applicant.credit_code]
    assert applicant and all(x.status is Status.PENDING and x.address for x in applicant), applicant
    assert not [x for x in await notify.store.deliveries() if x.status is Status.AWAITING]
