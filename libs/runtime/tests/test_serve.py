"""How every service is served: the server never closes an idle connection a client may still reuse."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from zhongshi_runtime import serve
from zhongshi_runtime.settings import ServiceSettings

pytestmark = pytest.mark.unit


def test_idle_connections_outlive_the_clients_and_proxies_that_reuse_them(monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(options))
    serve.run(lambda settings: FastAPI(), ServiceSettings())
    assert served["timeout_keep_alive"] > httpx.Limits().keepalive_expiry  # the tests', the console's, the bench's
    assert served["timeout_keep_alive"] > 60  # nginx's and most load balancers' idle reuse
    assert served["timeout_graceful_shutdown"] == serve.GRACEFUL_SHUTDOWN_S
