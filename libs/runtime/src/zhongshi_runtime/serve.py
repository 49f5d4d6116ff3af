"""Run one service with uvicorn: ``python -m zhongshi_<service>`` calls `run`."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from zhongshi_runtime.settings import ServiceSettings

# Seconds uvicorn waits for open HTTP requests on SIGTERM before the lifespan shutdown (the outbox relay,
# then the broker, which waits up to its own graceful timeout for handlers in flight). Orchestrators give
# more: docker-compose.yml's stop_grace_period, deploy/k8s's terminationGracePeriodSeconds.
GRACEFUL_SHUTDOWN_S = 20
# Seconds an idle keep-alive connection stays open. Longer than any client or proxy keeps one for reuse (httpx 5,
# nginx and most load balancers 60): with uvicorn's 5 s, a client reusing a connection just as the server closed
# it got "Server disconnected without sending a response" (the access matrix, once, on a loaded machine).
KEEP_ALIVE_S = 75


def run(create_app: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings) -> None:
    """Serve until SIGTERM/SIGINT; uvicorn then runs the lifespan's graceful shutdown."""
    uvicorn.run(
        create_app(settings), host=settings.http_host, port=settings.port, log_config=None,
        access_log=False, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, timeout_keep_alive=KEEP_ALIVE_S,
    )
