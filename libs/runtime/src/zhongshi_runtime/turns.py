"""An application's turn: makes two transactions that must not interleave conflict, whatever else they touch.

A transaction reads one snapshot, and two transactions conflict only when both write one document. Two event
handlers that each read what the other writes can therefore both commit, each deciding on a snapshot without
the other's write (write skew). Screening's submission handler reads whether the application was withdrawn and
creates its case, while the withdrawal handler records the withdrawal and closes the case if there is one:
run at once (their topics are consumed apart, by one replica or two), the withdrawal finds no case and the
submission no withdrawal, and a withdrawn application keeps a live case. Each handler takes the application's
turn first, an increment of one small document, so of two at once the second meets a write conflict, runs
again, and reads what the first committed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid

from zhongshi_runtime.outbox import Session

TURNS = "turns"


async def ensure_turns(db: AsyncDatabase[Any]) -> None:
    """Made at start: two transactions creating the collection at once would conflict on that alone."""
    with contextlib.suppress(CollectionInvalid):
        await db.create_collection(TURNS)


async def take_turn(db: AsyncDatabase[Any], key: str, session: Session) -> None:
    """Write ``key``'s turn in the running transaction: an increment, which always changes the document (a write
    that changed nothing would not conflict)."""
    await take_turns(db, [key], session)


async def take_turns(db: AsyncDatabase[Any], keys: Iterable[str], session: Session) -> None:
    """Every key's turn, in one command: a transaction that reads what many applications' transactions write
    (a round's confirmation) takes all their turns, so they need not share one turn among themselves."""
    writes = [UpdateOne({"_id": key}, {"$inc": {"taken": 1}}, upsert=True) for key in keys]
    if writes:
        await db[TURNS].bulk_write(writes, ordered=False, session=session)
