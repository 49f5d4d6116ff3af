"""What review's routes depend on: the callers' roles, the use cases' `Review` (installed on the app by the
factory) and the guard every province change to a round opens with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from zhongshi_runtime.auth import Principal, Role, require

from zhongshi_review.use_cases import Review, open_round

Province = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
ExpertCaller = Annotated[Principal, Depends(require(Role.EXPERT))]
ProvinceOrExpert = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL, Role.EXPERT))]


def install(app: FastAPI, review: Review) -> None:
    """Give the app's routes their `Review`."""
    app.state.review = review


def review_of(request: Request) -> Review:
    review: Review = request.app.state.review
    return review


ReviewDep = Annotated[Review, Depends(review_of)]


async def province_on_open_round(round_id: str, principal: Province, review: ReviewDep) -> Principal:
    """A province official changing the path's round: 401/403 first, then 409 once its decisions are confirmed."""
    await open_round(review, round_id)
    return principal


ProvinceOnOpenRound = Annotated[Principal, Depends(province_on_open_round)]
