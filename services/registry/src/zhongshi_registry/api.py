"""What every registry route depends on: the use cases' `Deps` (put on the app by app.py) and the roles."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request
from zhongshi_runtime.auth import Principal, Role, require

from zhongshi_registry.use_cases import Deps


def deps(request: Request) -> Deps:
    """The use cases' dependencies, put on the app by app.py (`app.state.deps`)."""
    return cast(Deps, request.app.state.deps)


Wired = Annotated[Deps, Depends(deps)]
Province = Annotated[Principal, Depends(require(Role.PROVINCE_OFFICIAL))]
