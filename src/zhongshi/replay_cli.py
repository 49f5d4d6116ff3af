"""`zhongshi replay <service>`: rebuild a service's state from its topics into an empty database and compare
it with the live one. Broker and database: KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI, else the embedded stack's."""

from __future__ import annotations

import asyncio
import importlib
from typing import Annotated, Protocol

import typer
from zhongshi_runtime.rebuild import Report, Scope, Wire, rebuild

from zhongshi.launcher import StackConfig
from zhongshi.progress import Counter

replay = typer.Typer(help="Rebuild a service's state from the events alone.", no_args_is_help=True)
GENERIC = ("intake", "screening", "review", "notify")  # the registry has a projection of its own (below)
Into = Annotated[str | None, typer.Option(help="An empty database to rebuild into (default: <live>_replay).")]
CompareWith = Annotated[str | None, typer.Option(help="The live database to compare with ('' to skip).")]


class ReplaySpec(Protocol):
    SCOPE: Scope
    wire: Wire


def spec(service: str) -> ReplaySpec:
    """A service's `replay` module: what it compares (``SCOPE``) and its handler registration (``wire``)."""
    module: ReplaySpec = importlib.import_module(f"zhongshi_{service}.replay")
    return module


def show(report: Report, compare_with: str | None, left_out: dict[str, str]) -> None:
    """Print what was read, applied and refused, what is left out and why, and the differences; exit 1 if any."""
    rate = report.records / max(report.seconds.get("read", 0), 1e-6)
    typer.echo(f"read {report.records} records ({rate:,.0f}/s; {report.duplicates} duplicates skipped, "
               f"{len(report.unreadable)} unreadable) in {report.seconds.get('read', 0):.1f}s; "
               + "; ".join(f"{step} {s:.1f}s" for step, s in report.seconds.items() if step != "read"))
    for topic, count in sorted(report.applied.items()):
        typer.echo(f"  {topic:<40} {count}")
    for problem in report.unreadable + report.refused:
        typer.echo(f"  not applied: {problem}")
    for name, why in sorted(left_out.items()):
        typer.echo(f"  not compared: {name} ({why})")
    if report.differences is not None:
        typer.echo(f"{len(report.differences)} differences from {compare_with}")
        for line in report.differences[:20]:
            typer.echo(f"  {line}")
        if report.differences:
            raise typer.Exit(1)


def run_generic(service: str, into: str | None, compare_with: str | None) -> None:
    """Replay one service through its own handlers and report."""
    found, config = spec(service), StackConfig()
    live = f"zhongshi_{service}"
    target, compare = into or f"{live}_replay", live if compare_with is None else (compare_with or None)
    with Counter(f"reading {service}'s events") as read:
        report = asyncio.run(rebuild(found.SCOPE, found.wire, bootstrap=config.broker_address,
                                     mongodb_uri=config.database_uri(service), into=target, compare_with=compare,
                                     progress=read.update))
    show(report, compare, dict(found.SCOPE.left_out))


def _command(service: str) -> None:
    def command(into: Into = None, compare_with: CompareWith = None) -> None:
        run_generic(service, into, compare_with)

    command.__doc__ = (f"Rebuild {service}'s state from the topics it consumes, through its own handlers, into an "
                       f"empty database; exit 1 when it differs from the live state.")
    replay.command(service)(command)


for _service in GENERIC:
    _command(_service)


@replay.command("registry")
def replay_registry(into: Into = None, compare_with: CompareWith = None) -> None:
    """Rebuild the registry from its inputs and its own events into an empty database; exit 1 when it
    differs from the live state."""
    from zhongshi_registry.replay import rebuild as rebuild_registry

    config = StackConfig()
    compare = "zhongshi_registry" if compare_with is None else (compare_with or None)
    target = into or "zhongshi_registry_replay"
    with Counter("reading the registry's events") as read:
        report = asyncio.run(rebuild_registry(config.broker_address, config.database_uri("registry"), target, compare,
                                              progress=read.update))
    show(report, compare, {"objections": "an objector's name, contact, grounds and evidence: private, in no event"})
