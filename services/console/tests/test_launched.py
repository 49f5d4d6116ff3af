"""The console as `zhongshi up` starts it: its own process, given the five services' URLs by the launcher."""

from __future__ import annotations

import httpx
import pytest

from zhongshi.launcher import APPS, CONSOLE, Stack

pytestmark = pytest.mark.integration


def test_the_launcher_starts_the_console_wired_to_the_services(demo_stack: Stack) -> None:
    assert CONSOLE in APPS and CONSOLE in demo_stack.config.ports
    demo_stack.start_service(CONSOLE)
    try:
        demo_stack.wait_ready((CONSOLE,), timeout=120)
        url = demo_stack.url(CONSOLE)
        registry = httpx.get(f"{url}/registry", params={"status": "accredited"}, timeout=10)
        assert registry.status_code == 200 and "省级制造业中试平台" in registry.text and "鄂中试" in registry.text
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        assert 'zhongshi_http_requests_total{method="GET",route="/registry",service="console",status="2xx"}' in metrics
    finally:
        demo_stack.stop_service(CONSOLE)
