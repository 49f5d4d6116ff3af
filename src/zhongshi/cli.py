"""The `zhongshi` command: `up` (the whole stack), `demo` (the sample round), `token` (dev tokens),
`replay` (rebuild a service's state from the events), `materials purge` (retention), `dlq` (dead letters)."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from zhongshi_runtime.auth import Role

from zhongshi import demo
from zhongshi.idp.client import TokenClient
from zhongshi.idp.people import DEMO_PASSWORD, highlights
from zhongshi.launcher import APPS, CONSOLE, SERVICES, Stack, StackConfig
from zhongshi.progress import ReportingStack, Steps
from zhongshi.replay_cli import replay

app = typer.Typer(help="zhongshi (中试): Hubei pilot-platform accreditation.", no_args_is_help=True)


def _print_version(show: bool) -> None:
    if show:
        typer.echo(f"zhongshi {version('zhongshi')}")
        raise typer.Exit()


@app.callback()
def _options(
    _version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                           help="Print the version and exit.")] = False,
) -> None:
    """zhongshi (中试): Hubei pilot-platform accreditation."""


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
    steps = Steps()
    stack = ReportingStack(config, steps)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        seconds = stack.start()
        typer.echo(f"zhongshi is up in {seconds:.1f}s (broker {stack.bootstrap})")
        for name in config.services:
            url = stack.url(name)
            typer.echo(f"  {name:<10} {url}/  (网页控制台)" if name == CONSOLE else
                       f"  {name:<10} {url}/docs  {url}/asyncapi  {url}/metrics  {stack.database_uri(name)}")
        typer.echo(f"  identity   {config.issuer}  (logs in {var_dir}/logs)")
        typer.echo(demo_logins())
        if load_demo:
            typer.echo("loading the sample round ...")
            typer.echo(demo.summary(demo.load(stack, steps=steps)))
        typer.echo("press Ctrl-C to stop")
        signal.pause()
    except KeyboardInterrupt:
        typer.echo("stopping ...")
    finally:
        stack.stop()
        typer.echo("stopped")


def demo_logins() -> str:
    """A short table of demo logins (all of them: docs/security.md)."""
    lines = [f"  demo logins (password {DEMO_PASSWORD}; all of them in docs/security.md):"]
    lines += [f"    {p.username:<14} {p.role.value:<18} {p.organisation:<20} {p.name} · {p.organisation_name}"
              for p in highlights()]
    return "\n".join(lines)


@app.command()
def token(
    role: Annotated[Role | None, typer.Option(help="The caller's role (with --organisation).")] = None,
    organisation: Annotated[str | None, typer.Option(
        "--organisation", "--scope", help="Credit code, region code, expert id, '42' or '*'.")] = None,
    login: Annotated[str | None, typer.Option(help="A demo login instead (direct grant), e.g. applicant01.")] = None,
    password: Annotated[str, typer.Option(help="The demo login's password.")] = DEMO_PASSWORD,
    subject: Annotated[str | None, typer.Option(help="Act as this user id instead of the demo person.")] = None,
    issuer: Annotated[str, typer.Option(help="The development identity provider.")] = StackConfig().issuer,
) -> None:
    """Print an access token from the running development identity provider."""
    client = TokenClient(issuer)
    try:
        if login:
            typer.echo(client.for_login(login, password))
        elif role is not None and organisation:
            typer.echo(client.for_role(role.value, organisation, subject))
        else:
            raise typer.BadParameter("give --login, or --role and --organisation")
    finally:
        client.close()


@app.command("demo")
def load_demo_round(var_dir: Annotated[Path, typer.Option()] = Path("var")) -> None:
    """Load the sample round into a running stack on the default ports and print its outcome."""
    typer.echo(demo.summary(demo.load(Stack(StackConfig(var_dir=var_dir)), steps=Steps())))


app.add_typer(replay, name="replay")


audit = typer.Typer(help="Read the audit trail (审计留痕).", no_args_is_help=True)
app.add_typer(audit, name="audit")


@audit.command("trail")
def audit_trail(
    application_id: str,
    token: Annotated[str | None, typer.Option(envvar="ZHONGSHI_TOKEN",
                                              help="A province official's or operator's token (default: the "
                                                   "development provider's operator).")] = None,
    var_dir: Annotated[Path, typer.Option()] = Path("var"),
) -> None:
    """Print one application's audit records from all five services, oldest first."""
    from zhongshi.trail import TrailUnavailable, application_trail, describe

    stack = Stack(StackConfig(var_dir=var_dir))
    bearer = token or stack.token(Role.OPERATOR, "*")
    try:
        records = asyncio.run(application_trail({n: stack.url(n) for n in SERVICES}, bearer, application_id))
    except TrailUnavailable as exc:
        typer.echo(f"cannot read the whole trail: {exc}", err=True)
        raise typer.Exit(1) from exc
    for record in records:
        typer.echo(describe(record))
    typer.echo(f"{len(records)} records")


materials = typer.Typer(help="Application materials (申报材料) in intake's database.", no_args_is_help=True)
app.add_typer(materials, name="materials")


@materials.command("purge")
def purge_materials(
    round_id: Annotated[str, typer.Option("--round", help="The round whose unsuccessful applications to purge.")],
    dry_run: Annotated[bool, typer.Option(help="Only list what would be removed.")] = False,
) -> None:
    """Delete the materials of a round's unsuccessful applications once its retention period has passed
    (INTAKE_MATERIAL_RETENTION_DAYS after the round closed), listing each removal. Database: MONGODB_URI,
    else the embedded stack's (intake's database server)."""
    from zhongshi_intake.materials import NotDue, purge_round
    from zhongshi_intake.settings import IntakeSettings

    try:
        uri = StackConfig().database_uri("intake")
        removed, orphans = asyncio.run(purge_round(uri, IntakeSettings().database, round_id, dry_run=dry_run))
    except (LookupError, NotDue) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    for item in removed:
        typer.echo(f"  {item.application_id} ({item.status}): {len(item.material_ids)} files, {item.bytes} bytes")
    verb = "would remove" if dry_run else "removed"
    typer.echo(f"{verb} the materials of {len(removed)} applications; {len(orphans)} orphan files deleted")


dlq = typer.Typer(help="Dead letters (死信) of every service's consumer group: list, show, redrive.",
                  no_args_is_help=True)
app.add_typer(dlq, name="dlq")
Service = Annotated[list[str] | None, typer.Option("--service", help="Only these services (default: all).")]
Topic = Annotated[str | None, typer.Option(help="The source topic.")]
Reason = Annotated[str | None, typer.Option(help="Text the reason contains.")]
Since = Annotated[datetime | None, typer.Option(help="Failed at or after (ISO 8601).")]
Until = Annotated[datetime | None, typer.Option(help="Failed before (ISO 8601).")]
Token = Annotated[str | None, typer.Option(envvar="ZHONGSHI_TOKEN", help="An operator's token (default: the "
                                                                       "development provider's operator).")]


def _operator(token: str | None, services: list[str] | None) -> tuple[str, dict[str, str]]:
    stack = Stack(StackConfig())
    return token or stack.token(Role.OPERATOR, "*"), {n: stack.url(n) for n in services or SERVICES}


@dlq.command("list")
def dlq_list(service: Service = None, topic: Topic = None, reason: Reason = None, since: Since = None,
             until: Until = None, token: Token = None) -> None:
    """Dead-lettered and parked messages not yet redriven, oldest first."""
    from zhongshi import dlq as ops

    bearer, urls = _operator(token, service)
    entries = asyncio.run(ops.listing(urls, bearer, ops.filters(topic, reason, since, until)))
    for entry in entries:
        typer.echo(ops.describe(entry))
    typer.echo(f"{len(entries)} messages")


@dlq.command("show")
def dlq_show(service: Annotated[str, typer.Argument()], entry_id: str, token: Token = None) -> None:
    """One message with its headers and body."""
    import json

    from zhongshi import dlq as ops

    bearer, urls = _operator(token, [service])
    typer.echo(json.dumps(asyncio.run(ops.show(urls[service], service, bearer, entry_id)), ensure_ascii=False,
                          indent=2))


@dlq.command("redrive")
def dlq_redrive(entry_id: Annotated[str | None, typer.Argument(help="One entry (with --service).")] = None,
                service: Service = None, topic: Topic = None, reason: Reason = None, since: Since = None,
                until: Until = None, token: Token = None) -> None:
    """Republish to the source topic with the original event id: one entry, or every dead one that matches.
    Events parked behind a redriven one follow it, in order, once it is handled."""
    from zhongshi import dlq as ops

    if entry_id and len(service or []) != 1:
        raise typer.BadParameter("an entry id is one service's: name it with --service")
    bearer, urls = _operator(token, service)
    done = asyncio.run(ops.redrive(urls, bearer, ops.filters(topic, reason, since, until), entry_id))
    for name, ids in done.items():
        for entry in ids:
            typer.echo(f"{name:<10} redriven {entry}")
    typer.echo(f"{sum(map(len, done.values()))} redriven")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
