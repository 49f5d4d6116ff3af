"""The console's metrics: the shared HTTP request series, plus logins and the services' refusals."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Gauge
from zhongshi_runtime.metrics import RuntimeMetrics


@dataclass
class ConsoleMetrics:
    """Counters on the shared registry of `RuntimeMetrics` (which also counts every request)."""

    runtime: RuntimeMetrics

    def __post_init__(self) -> None:
        r = self.runtime.registry
        self.logins = Counter("zhongshi_console_logins_total", "Logins completed, by role", ["role"], registry=r)
        self.login_failures = Counter("zhongshi_console_login_failures_total",
                                      "Login callbacks refused (state, code or provider error)", registry=r)
        self.refreshes = Counter("zhongshi_console_token_refreshes_total", "Access tokens refreshed", registry=r)
        self.csrf_refused = Counter("zhongshi_console_csrf_refused_total",
                                    "Unsafe requests refused for a missing or wrong CSRF token", registry=r)
        self.backend_errors = Counter("zhongshi_console_backend_errors_total",
                                      "Service calls that failed, by service status class", ["status"], registry=r)
        self.sessions = Gauge("zhongshi_console_sessions", "Server-side sessions held", registry=r)
        self.login_failures.inc(0)
        self.csrf_refused.inc(0)
