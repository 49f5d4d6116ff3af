"""What long commands print while they work (rich): `zhongshi up` per component, the demo per stage, `replay`
with its count and rate. On a terminal a spinner shows what is being waited for; in a pipe or a log, one line
per finished step."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from zhongshi.launcher import Stack, StackConfig


class Steps:
    """Reports named steps: a spinner while one runs, then a line with how long it took."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.began = time.monotonic()

    @contextlib.contextmanager
    def step(self, label: str) -> Iterator[None]:
        started = time.monotonic()
        with self.console.status(f"{label} ..."):
            yield
        self.done(label, time.monotonic() - started)

    def done(self, label: str, seconds: float | None = None) -> None:
        took = f" in {seconds:.1f}s" if seconds is not None else ""
        self.console.print(f"  [green]✓[/green] {label}{took}  [dim](+{time.monotonic() - self.began:.1f}s)[/dim]")


class QuietSteps(Steps):
    """Reports nothing: for callers that print their own summary (tests, the library)."""

    def __init__(self) -> None:
        super().__init__(Console(quiet=True))


class ReportingStack(Stack):
    """The launcher's Stack, reporting each component as it comes up: databases, broker with its topics,
    identity provider and mail sink, then each service."""

    def __init__(self, config: StackConfig, steps: Steps) -> None:
        super().__init__(config)
        self.steps = steps

    def start_databases(self) -> None:
        ports = ", ".join(map(str, self.config.mongo_ports.values()))
        with self.steps.step(f"databases (SecantusDB, one per service) on ports {ports}"):
            super().start_databases()

    def start_broker(self) -> None:
        with self.steps.step(f"broker (Tansu) on port {self.config.kafka_port}, with the contract's topics"):
            super().start_broker()

    def start_idp(self) -> None:
        with self.steps.step(f"identity provider (OpenID Connect) on port {self.config.idp_port}"):
            super().start_idp()

    def start_infrastructure(self) -> None:
        super().start_infrastructure()
        self.steps.done("mail sink" if self.embedded_broker else "topics and mail sink")

    def wait_ready(self, names: tuple[str, ...] | None = None, timeout: float = 180) -> None:
        for name in names or tuple(self.processes):
            with self.steps.step(f"service {name} ready on {self.url(name)}"):
                super().wait_ready((name,), timeout)


class Counter:
    """A running count with its rate, e.g. the records a replay has read."""

    def __init__(self, label: str, console: Console | None = None) -> None:
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                 TextColumn("{task.completed:,.0f} ({task.fields[rate]:,.0f}/s)"),
                                 TimeElapsedColumn(), console=console or Console(highlight=False))
        self.label, self.began = label, time.monotonic()
        self.task: TaskID | None = None

    def __enter__(self) -> Counter:
        self.progress.start()
        self.task = self.progress.add_task(self.label, total=None, rate=0.0)
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, count: int) -> None:
        """``count`` done so far."""
        assert self.task is not None
        rate = count / max(time.monotonic() - self.began, 1e-6)
        self.progress.update(self.task, completed=count, rate=rate)
