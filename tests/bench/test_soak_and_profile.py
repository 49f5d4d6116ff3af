"""The soak's memory figure and the profile's attribution of CPU samples to libraries, without a stack."""

from __future__ import annotations

import os
import time

from bench.pipeline import per_application
from bench.profile import OTHER, cpu_seconds, library_of, shares
from bench.soak import growth

PYMONGO = "/v/lib/python3.13/site-packages/pymongo/asynchronous/network.py"


def test_a_sample_counts_for_the_innermost_frame_of_a_known_library() -> None:
    under_pymongo = "run (asyncio/events.py:80);find (/v/pymongo/cursor.py:10);recv (/usr/lib/ssl.py:1)"
    assert library_of(under_pymongo) == "PyMongo, BSON"
    ours = "run (asyncio/events.py:80);plan (/s/zhongshi_notify/handlers.py:66)"
    assert library_of(ours) == "zhongshi"
    assert library_of("main (/usr/lib/python3.13/threading.py:1)") == OTHER


def test_shares_add_up_and_name_our_hottest_functions() -> None:
    raw = "\n".join([f"x (/s/zhongshi_intake/service.py:3);read ({PYMONGO}:9) 60",
                     "x (/s/zhongshi_intake/service.py:3) 30",
                     "loop (/v/uvloop/__init__.py:1) 10", "garbage line"])
    found = shares(raw)
    assert found["samples"] == 100
    assert found["shares"] == {"PyMongo, BSON": 0.6, "zhongshi": 0.3, "event loop": 0.1}
    assert found["our_hottest"] == [["x (service.py:3)", 0.9]]


def test_memory_growth_is_measured_from_the_end_of_the_warm_up_and_the_broker_apart() -> None:
    samples = [{"t": 0.0, "pss_mb": {"intake": 50.0, "notify": 50.0, "broker": 100.0}},
               {"t": 60.0, "pss_mb": {"intake": 100.0, "notify": 100.0, "broker": 150.0}},
               {"t": 600.0, "pss_mb": {"intake": 105.0, "notify": 105.0, "broker": 300.0}}]
    found = growth(samples, warm_up_s=60)
    assert found["five_services"] == {"start_mb": 200.0, "end_mb": 210.0, "growth_pct": 5.0}
    assert found["each"]["broker"]["growth_pct"] == 100.0


def test_cpu_seconds_are_the_process_own_and_grow_while_it_works() -> None:
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert cpu_seconds(os.getpid()) - before >= 0.1


def test_database_operations_are_counted_per_application_with_their_total() -> None:
    before = {"insert": 100, "query": 1000, "command": 10}
    after = {"insert": 500, "query": 1800, "command": 50}
    assert per_application(before, after, 40) == {"insert": 10.0, "query": 20.0, "command": 1.0, "total": 31.0}
