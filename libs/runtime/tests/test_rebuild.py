"""The comparison of a rebuilt service with the live one: what it reports, and what it leaves out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from zhongshi_runtime.rebuild import Scope, differences


class Collection:
    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.documents = documents

    async def find(self, only: dict[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
        for d in self.documents:
            if all(d.get(k) == v for k, v in (only or {}).items()):
                yield d


class Db(dict[str, Collection]):
    def __missing__(self, name: str) -> Collection:
        return Collection([])


SCOPE = Scope(service="s", compared={"cases": frozenset({"seen_at"}), "inbox": frozenset()},
              only={"inbox": {"kind": "event"}}, normalise={"cases": lambda d: {**d, "request_id": ""}})


async def test_equal_state_has_no_difference_whatever_the_left_out_fields_say() -> None:
    live = Db(cases=Collection([{"_id": "A1", "stage": "x", "seen_at": 1, "request_id": "r1"}]),
              inbox=Collection([{"_id": "m1", "kind": "event"}, {"_id": "m2", "kind": "timer"}]))
    rebuilt = Db(cases=Collection([{"_id": "A1", "stage": "x", "seen_at": 2, "request_id": "r2"}]),
                 inbox=Collection([{"_id": "m1", "kind": "event"}]))
    assert await differences(SCOPE, live, rebuilt) == []  # type: ignore[arg-type]


async def test_missing_extra_and_changed_documents_are_named() -> None:
    live = Db(cases=Collection([{"_id": "A1", "stage": "x"}, {"_id": "A2", "stage": "y"}]))
    rebuilt = Db(cases=Collection([{"_id": "A1", "stage": "z"}, {"_id": "A3", "stage": "y"}]))
    assert await differences(SCOPE, live, rebuilt) == [  # type: ignore[arg-type]
        "cases A2: only live", "cases A3: only rebuilt", "cases A1.stage: live 'x' ≠ rebuilt 'z'"]


async def test_a_document_that_may_be_one_sided_is_no_difference_on_either_side_and_any_other_is() -> None:
    scope = Scope(service="s", compared={"inbox": frozenset()}, one_sided={"inbox": lambda d: d["to"] == "county"})
    live = Db(inbox=Collection([{"_id": "m1", "to": "county"}, {"_id": "m4", "to": "applicant"}]))
    rebuilt = Db(inbox=Collection([{"_id": "m2", "to": "county"}, {"_id": "m3", "to": "applicant"}]))
    assert await differences(scope, live, rebuilt) == [  # type: ignore[arg-type]
        "inbox m4: only live", "inbox m3: only rebuilt"]


async def test_a_pair_the_live_state_may_hold_differently_is_no_difference_and_any_other_is() -> None:
    scope = Scope(service="s", compared={"inbox": frozenset()},
                  live_may_differ={"inbox": lambda live, rebuilt: live["day"] == "?" and rebuilt["day"] != "?"})
    live = Db(inbox=Collection([{"_id": "m1", "day": "?"}, {"_id": "m2", "day": "1 May"}]))
    rebuilt = Db(inbox=Collection([{"_id": "m1", "day": "2 May"}, {"_id": "m2", "day": "3 May"}]))
    assert await differences(scope, live, rebuilt) == [  # type: ignore[arg-type]
        "inbox m2.day: live '1 May' ≠ rebuilt '3 May'"]
