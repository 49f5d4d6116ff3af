"""The `zhongshi` command: `up` (the whole stack), `demo` (the sample round), `token` (dev tokens),
`replay` (rebuild a service's state from the events)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from zhongshi_runtime.auth import Role, mint_dev_token

from zhongshi import demo
from zhongshi.launcher import APPS, CONSOLE, Stack, StackConfig

app = typer.Typer(help="zhongshi (中试): Hubei pilot-platform accreditation.", no_args_is_help=True)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command()
def up(
    load_demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Load the sample round.")] = False,
    var_dir: Annotated[Path, typer.Option(help="Where data, logs and dev keys live.")] = Path("var"),
    services: Annotated[list[str] | None, typer.Option("--service", help="Start only these.")] = None,
) -> None:
    """Start the embedded broker and database (unless configured), the five services and the console; Ctrl-C stops
    all."""
    config = StackConfig(var_dir=var_dir, services=tuple(services or APPS))
    stack = Stack(config)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        seconds = stack.start()
        typer.echo(f"zhongshi is up in {seconds:.1f}s (broker {stack.bootstrap}, database {stack.mongodb_uri})")
        for name in config.services:
            url = stack.url(name)
            typer.echo(f"  {name:<10} {url}/  (网页控制台)" if name == CONSOLE else
                       f"  {name:<10} {url}/docs  {url}/asyncapi  {url}/metrics")
        typer.echo(f"  dev tokens: zhongshi token --role applicant --scope <credit code>   (logs in {var_dir}/logs)")
        if load_demo:
            typer.echo("loading the sample round ...")
            typer.echo(demo.summary(demo.load(stack)))
        typer.echo("press Ctrl-C to stop")
        signal.pause()
    except KeyboardInterrupt:
        typer.echo("stopping ...")
    finally:
        stack.stop()
        typer.echo("stopped")


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="The caller's role.")],
    scope: Annotated[str, typer.Option(help="Credit code, region code, expert id, '42' or '*'.")],
    subject: Annotated[str | None, typer.Option(help="The user id (default: role:scope).")] = None,
    var_dir: Annotated[Path, typer.Option()] = Path("var"),
) -> None:
    """Mint a development token signed by the local key that `zhongshi up` created."""
    typer.echo(mint_dev_token(var_dir / "auth", role=role, scope=scope, subject=subject))


@app.command("demo")
def load_demo_round(var_dir: Annotated[Path, typer.Option()] = Path("var")) -> None:
    """Load the sample round into a running stack on the default ports and print its outcome."""
    typer.echo(demo.summary(demo.load(Stack(StackConfig(var_dir=var_dir)))))


replay = typer.Typer(help="Rebuild a service's state from the events alone.", no_args_is_help=True)
app.add_typer(replay, name="replay")


@replay.command("registry")
def replay_registry(
    into: Annotated[str, typer.Option(help="An empty database to rebuild into.")] = "zhongshi_registry_replay",
    compare_with: Annotated[str, typer.Option(help="The live database to compare with ('' to skip).")]
    = "zhongshi_registry",
) -> None:
    """Read the registry's topics from the beginning and rebuild its state into an empty database; exit 1
    when it differs from the live state. Broker and database: KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI, else
    the embedded stack's ports."""
    from zhongshi_registry.replay import rebuild

    config = StackConfig()
    report = asyncio.run(rebuild(config.broker_address, config.database_uri, into, compare_with or None))
    typer.echo(f"read {report.records} records ({report.duplicates} duplicates skipped, "
               f"{len(report.unreadable)} unreadable) in {report.seconds['read']:.1f}s; projected in "
               f"{report.seconds['project']:.1f}s; wrote {into} in {report.seconds['write']:.1f}s")
    for topic, count in sorted(report.applied.items()):
        typer.echo(f"  {topic:<40} {count}")
    for problem in report.unreadable + report.refused:
        typer.echo(f"  not applied: {problem}")
    if report.differences is not None:
        typer.echo(f"{len(report.differences)} differences from {compare_with}")
        for line in report.differences[:20]:
            typer.echo(f"  {line}")
        if report.differences:
            raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
