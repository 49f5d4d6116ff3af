"""Browser-test fixtures: the real stack with the sample round, an OpenID provider, the console served in this
process (so a test can move its session clock), and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Error as PlaywrightError
from zhongshi_console.app import create_app
from zhongshi_console.sessions import SessionStore
from zhongshi_console.settings import SERVICES, ConsoleSettings

from zhongshi import demo, embedded
from zhongshi.idp.people import CLIENTS
from zhongshi.launcher import Stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = Path("var/browser/node_modules/axe-core/axe.min.js")  # `make test` installs it (npm, pinned)
PASSWORD = "zhongshi-demo"  # the demo logins of docs/security.md


def serve(app: FastAPI) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` on a free port in a thread; return its URL and how to stop it."""
    port = embedded.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the in-process server did not start"
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(15)

    return f"http://127.0.0.1:{port}", stop


@pytest.fixture(scope="session")
def demo_stack(stack: Stack) -> Stack:
    """The stack with the sample round taken through publicity: platforms, certificates, a closed list."""
    demo.load(stack)
    return stack


@dataclass
class Provider:
    issuer: str
    client_secret: str


@pytest.fixture(scope="session")
def provider(stack: Stack) -> Provider:
    """The stack's embedded OpenID provider and the console's client secret with it."""
    return Provider(issuer=stack.config.issuer, client_secret=CLIENTS["zhongshi-console"].secret)


class Clock:
    """The console's session clock, moved forward by the expiry test."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


@dataclass
class Console:
    url: str
    store: SessionStore
    clock: Clock
    settings: ConsoleSettings


@pytest.fixture(scope="session")
def console(demo_stack: Stack, provider: Provider) -> Iterator[Console]:
    urls = {f"CONSOLE_{name.upper()}_URL": demo_stack.url(name) for name in SERVICES}
    settings = ConsoleSettings.model_validate({**urls, "CONSOLE_OIDC_ISSUER": provider.issuer,
                                               "CONSOLE_OIDC_CLIENT_SECRET": provider.client_secret})
    clock = Clock()
    store = SessionStore(idle_s=settings.session_idle_s, max_sessions=100, clock=clock)
    url, stop = serve(create_app(settings, store=store))
    httpx.get(f"{url}/ready", timeout=10).raise_for_status()
    yield Console(url, store, clock, settings)
    stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium through Playwright's sync API, for one test module: that API keeps an event loop running in the
    main thread while it is open, which every later async test of the session would trip over."""
    if not CHROMIUM.exists():
        pytest.fail("browser tests need Debian's chromium and fonts-noto-cjk: `make test` installs them "
                    "(as root), or run `sudo apt-get install chromium fonts-noto-cjk`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    """A fresh browser context (no cookies) at 1280 px, its base URL the console."""
    context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(30_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(scope="session")
def screenshots(pytestconfig: pytest.Config) -> Path:
    """Artefacts: one PNG per page visited, under var/screenshots/."""
    directory = pytestconfig.rootpath / "var" / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def capture(page: Any, path: Path, **options: Any) -> None:
    """An artefact screenshot (``page.screenshot``), asked for once more when Chromium answers "Unable to capture
    screenshot". Headless Chromium gives that answer now and then on a loaded machine: its compositor had no
    frame ready for the capture (Chromium issue 714058; a fresh clone's `make test` under `stress-ng` met it once
    in 1,409 tests). What a test checks of a page it checks in the DOM before this; a page that cannot be drawn
    twice in a row still fails the test."""
    try:
        page.screenshot(path=path, **options)
    except PlaywrightError as exc:
        if "Unable to capture screenshot" not in str(exc):
            raise
        page.screenshot(path=path, **options)


def sign_in(page: Any, username: str) -> None:
    """Fill the provider's own login page (用户名/密码, 登录) that a console page redirected to."""
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
