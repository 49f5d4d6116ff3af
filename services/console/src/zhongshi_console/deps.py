"""What the pages get from the app, one dependency each: app.py puts each on ``app.state`` once."""

from __future__ import annotations

from typing import Annotated, cast

from authlib.integrations.starlette_client import StarletteOAuth2App
from fastapi import Depends, Request

from zhongshi_console.clients import Backends
from zhongshi_console.metrics import ConsoleMetrics
from zhongshi_console.sessions import SessionStore
from zhongshi_console.settings import ConsoleSettings


def backends(request: Request) -> Backends:
    """The five services' clients (`app.state.backends`)."""
    return cast(Backends, request.app.state.backends)


def settings(request: Request) -> ConsoleSettings:
    return cast(ConsoleSettings, request.app.state.settings)


def oauth(request: Request) -> StarletteOAuth2App | None:
    """The OpenID provider's client, None when no provider is configured."""
    return cast(StarletteOAuth2App | None, request.app.state.oauth)


def store(request: Request) -> SessionStore:
    return cast(SessionStore, request.app.state.store)


def metrics(request: Request) -> ConsoleMetrics:
    return cast(ConsoleMetrics, request.app.state.metrics)


Wired = Annotated[Backends, Depends(backends)]
Settings = Annotated[ConsoleSettings, Depends(settings)]
OAuthClient = Annotated[StarletteOAuth2App | None, Depends(oauth)]
Store = Annotated[SessionStore, Depends(store)]
Metrics = Annotated[ConsoleMetrics, Depends(metrics)]
