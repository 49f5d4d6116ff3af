"""In-memory fakes of the runtime ports, for fast unit and handler tests only."""

from __future__ import annotations

from zhongshi_contracts.events import Event

from zhongshi_runtime.outbox import Consumed, Work


class InMemoryUnitOfWork:
    """Runs work immediately, remembers consumed event ids and collects the outgoing events."""

    def __init__(self) -> None:
        self.consumed: set[str] = set()
        self.published: list[Event] = []
        self.duplicates = 0

    async def run(self, work: Work, *, consumed: Consumed | None = None) -> bool:
        if consumed and consumed.key in self.consumed:
            self.duplicates += 1
            return False
        events = await work(None)
        if consumed:
            self.consumed.add(consumed.key)
        self.published.extend(events)
        return True
