"""The paging parameter every list endpoint shares."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

MAX_OFFSET = 1_000_000  # beyond any real list; MongoDB's skip is a 64-bit integer, so an unbounded one is a 500

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many items to skip.")]
