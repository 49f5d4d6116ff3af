"""What notify's routes depend on: the callers' roles and the use cases' `Notify` and `Verifier` (installed on
the app by the factory)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from zhongshi_runtime.auth import Principal, Role, current_principal, require

from zhongshi_notify.use_cases import Notify
from zhongshi_notify.use_cases.verification import Verifier

SignedIn = Annotated[Principal, Depends(current_principal)]
Recipient = Annotated[Principal, Depends(require(Role.APPLICANT, Role.COUNTY_OFFICIAL, Role.CITY_OFFICIAL,
                                                 Role.PROVINCE_OFFICIAL, Role.EXPERT))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
DirectoryKeeper = Annotated[Principal, Depends(require(Role.OPERATOR, Role.PROVINCE_OFFICIAL))]


def install(app: FastAPI, notify: Notify | None = None, verifier: Verifier | None = None) -> None:
    """Give the app's routes what their use cases work with."""
    if notify is not None:
        app.state.notify = notify
    if verifier is not None:
        app.state.verifier = verifier


def notify_of(request: Request) -> Notify:
    notify: Notify = request.app.state.notify
    return notify


def verifier_of(request: Request) -> Verifier:
    verifier: Verifier = request.app.state.verifier
    return verifier


NotifyDep = Annotated[Notify, Depends(notify_of)]
VerifierDep = Annotated[Verifier, Depends(verifier_of)]
