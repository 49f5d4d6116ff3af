"""The embedded database frees what a killed process left inside a transaction well before mongod's 60 s."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from typing import Any

from pymongo import MongoClient
from pymongo.collection import Collection

from zhongshi.database_server import TRANSACTION_LIFETIME_S

ABANDON = """
import os, sys
from pymongo import MongoClient
client = MongoClient(sys.argv[1])
session = client.start_session()
session.start_transaction()
client[sys.argv[2]].docs.update_one({"_id": 1}, {"$inc": {"n": 1}}, session=session)
os._exit(0)  # killed inside the transaction: no commit, no abort
"""


def test_a_transaction_left_open_by_a_killed_process_stops_blocking_writers_soon(scratch_uri: str) -> None:
    name = f"test_{uuid.uuid4().hex[:12]}"
    client: MongoClient[dict[str, Any]]
    with MongoClient(scratch_uri) as client:
        docs: Collection[dict[str, Any]] = client[name].docs
        docs.insert_one({"_id": 1, "n": 0})
        subprocess.run([sys.executable, "-c", ABANDON, scratch_uri, name], check=True, timeout=60)
        began = time.monotonic()
        with client.start_session() as session:
            session.with_transaction(lambda s: docs.update_one({"_id": 1}, {"$inc": {"n": 10}}, session=s))
        blocked = time.monotonic() - began
        assert docs.find_one({"_id": 1}) == {"_id": 1, "n": 10}  # the abandoned increment was rolled back
        client.drop_database(name)
    # Blocked until the server aborted the abandoned transaction, TRANSACTION_LIFETIME_S after its last statement;
    # mongod's default would have held it 60 s. The bound leaves a busy machine room and still tells them apart.
    assert blocked < TRANSACTION_LIFETIME_S + 35, blocked
