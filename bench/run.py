"""`make bench`: figures a reviewer can rerun, each against a baseline measured in the same run (issue #8).

One embedded stack serves every figure, in this order: P5 cold start and idle PSS; P1 latency at a steady
20/s and sustained throughput with all five services, then with only intake and screening running, then the bare
loop (the three on the same fresh stack, so their ratios compare like with like); the profile; P2 a round through
every stage; notify's planning of the events it consumed, one event to a transaction against several; P3 public
registry reads (with the registry P2 published) against a bare FastAPI endpoint; PSS after load; the soak; P4
(services stopped, an empty broker) the registry rebuilt from 100k events against the raw consume rate of the
same records. Prints a table and writes bench/results.json. ``--smoke`` runs everything tiny (it checks the
bench, not the stack)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvloop

from bench import bare, charts, pipeline, planning, profile, reads, replay, report, round_, soak
from bench.sampler import Sampler
from zhongshi import embedded
from zhongshi.launcher import Stack, StackConfig

SIDE_SERVICES = ("review", "registry", "notify")  # not on the submit→screened path


def pss_mb(pids: list[int]) -> float:
    return round(sum(map(soak.pss_kb, pids)) / 1024, 1)


def stack_pids(stack: Stack) -> list[int]:
    server = embedded.running_fork_server()
    processes = (*stack.processes.values(), stack.broker, *stack.databases.values(), stack.mail_sink,
                 server.process if server else None)
    return [p.pid for p in processes if p]


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--smoke", action="store_true", help="tiny sizes: checks that the bench runs")
    p.add_argument("--round-size", type=int, default=2000, help="P2: applications in the round")
    p.add_argument("--sustained", type=int, default=400, help="P1: applications in the sustained runs")
    p.add_argument("--events", type=int, default=100_000, help="P4: events to rebuild the registry from")
    p.add_argument("--seconds", type=float, default=10, help="P3: seconds per load run")
    p.add_argument("--soak-minutes", type=float, default=30, help="soak: minutes at 5 applications/s")
    p.add_argument("--only", default="p1,profile,p2,planning,p3,soak,p4",
                   help="which of p1, profile (py-spy during a P1 sustained run), p2, planning (notify's, one "
                        "event to a transaction against several), p3, soak, p4 (P5 always)")
    p.add_argument("--planning-events", type=int, default=4000, help="planning: events notify plans per setting")
    p.add_argument("--out", type=Path, default=report.RESULTS)
    p.add_argument("--charts", type=Path, default=charts.CHARTS, help="folder for the PNG charts")
    p.add_argument("--var", type=Path, help="keep the stack's data and logs here (default: a temporary folder)")
    args = p.parse_args(argv)
    if args.smoke:
        args.round_size, args.sustained, args.events, args.seconds, args.soak_minutes = 12, 16, 400, 1, 0.5
        args.planning_events = 200
    return args


def ensure_wrk() -> None:
    """P3's load generator: installed with apt-get when missing and we are root; otherwise say how, before P1."""
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (apt-get) for P3", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

        def apt(*args: str) -> int:
            return subprocess.run(["apt-get", *args], stdout=subprocess.DEVNULL, env=env, check=False).returncode

        if apt("install", "-y", "-q", "wrk"):
            apt("update", "-q")
            apt("install", "-y", "-q", "wrk")
    if not shutil.which("wrk"):
        raise SystemExit("P3 needs wrk, the HTTP load generator, and it could not be installed: run "
                         "`sudo apt-get install wrk` (Debian/Ubuntu) or put wrk on PATH, or leave P3 out with "
                         "BENCH_ARGS='--only p1,p2,p4'.")


def cold_start(stack: Stack, within_s: float = 900) -> float:
    """`Stack.start`, with patience for a loaded machine: seconds until every service is ready."""
    began = time.monotonic()
    stack.start_infrastructure()
    for name in stack.config.services:
        stack.start_service(name)
    stack.wait_ready(timeout=within_s)
    return time.monotonic() - began


Done = Callable[..., None]  # done(phase, value, *path): record a figure under figures[path...][phase], write it out


def measure(stack: Stack, args: argparse.Namespace, figures: dict[str, Any]) -> None:
    """Fill ``figures`` phase by phase; each phase is written out as soon as it is measured."""
    only = set(args.only.split(","))
    sampler: Sampler = figures["_sampler"]

    def done(phase: str, value: Any, *path: str) -> None:
        target = figures
        for part in path:
            target = target.setdefault(part, {})
        target[phase] = value
        report.write(figures, args.out)
        print(f"{'.'.join((*path, phase))}: {value}", flush=True)

    done("cold_start_s", round(cold_start(stack), 1), "p5")
    sampler.start()  # once the broker and the services are up
    done("idle", pss_mb(stack_pids(stack)), "p5", "pss_mb")
    if "p1" in only:
        p1(stack, args, sampler, done)
    with_all_five(stack, args, only, sampler, done)
    done("after_load", pss_mb(stack_pids(stack)), "p5", "pss_mb")
    if "soak" in only:  # last but P4: a stack that cannot keep up with it leaves a queue later phases would wait on
        sampler.mark("soak")
        done("soak", uvloop.run(soak.run(stack, "R-bench-soak", args.soak_minutes)))
    if "p4" in only:
        sampler.mark("p4")
        templates = uvloop.run(replay.templates(stack.bootstrap))
        for name in list(stack.processes):
            stack.stop_service(name)
        stack.restart_broker()  # empty: the rebuild reads exactly the records P4 publishes
        done("p4", uvloop.run(replay.measure(stack.bootstrap, stack.database_uri("registry"), templates, args.events)))


def steady_n(args: argparse.Namespace) -> int:
    """Submissions in a steady-rate run: 600 (half a minute at 20 a second, so that its p99 is the sixth slowest,
    not the second), 20 for the smoke run."""
    return 20 if args.smoke else 600


def p1(stack: Stack, args: argparse.Namespace, sampler: Sampler, done: Done) -> None:
    """P1 with all five services, then with intake and screening alone, then the bare loop, one after the other
    on the stack as it started; the other three services are started again for the phases after."""
    sampler.mark("p1 all five")
    done("steady_20_per_s", uvloop.run(pipeline.steady(stack, "R-bench-steady", steady_n(args))), "p1")
    done("all_services", uvloop.run(pipeline.sustained(stack, "R-bench-all", args.sustained)), "p1")
    path_alone(stack, args, sampler, done)
    for name in SIDE_SERVICES:
        stack.start_service(name)
    stack.wait_ready(SIDE_SERVICES, timeout=600)


def with_all_five(stack: Stack, args: argparse.Namespace, only: set[str], sampler: Sampler, done: Done) -> None:
    """The phases measured with every service running after P1: its profile, P2, notify's planning, P3."""
    if "profile" in only:
        sampler.mark("profile")
        with profile.sampling(soak.processes(stack)) as found:
            found["load"] = uvloop.run(pipeline.sustained(stack, "R-bench-profile", args.sustained))
        done("profile", found)
    if "p2" in only or "p3" in only or "p4" in only:
        sampler.mark("p2")
        done("p2", round_.run(stack, "R-bench-round", args.round_size))
        done("notify_catch_up_s", sampler.caught_up("notify"), "p2")  # after the round's last stage
    if "planning" in only:  # the events notify consumed, planned again apart from the running notify
        sampler.mark("planning")
        done("planning", uvloop.run(planning.measure(stack.bootstrap, stack.database_uri("notify"),
                                                     stack.databases["notify"].pid, args.planning_events)))
    if "p3" in only:
        sampler.mark("p3")
        done("p3", reads.measure(stack, args.seconds))


def path_alone(stack: Stack, args: argparse.Namespace, sampler: Sampler, done: Done) -> None:
    """P1 with intake and screening alone, then the bare loop on their database servers."""
    sampler.mark("p1 path")
    for name in SIDE_SERVICES:
        stack.stop_service(name)
    done("path_steady_20_per_s", uvloop.run(pipeline.steady(stack, "R-bench-path-steady", steady_n(args))), "p1")
    done("path", uvloop.run(pipeline.sustained(stack, "R-bench-path", args.sustained)), "p1")
    uris = bare.Uris(stack.database_uri("intake"), stack.database_uri("screening"))
    done("bare", uvloop.run(bare.measure(stack.bootstrap, uris, "R-bench-path", args.sustained)), "p1")


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    figures: dict[str, Any] = {"sizes": {"round": args.round_size, "sustained": args.sustained,
                                         "events": args.events, "smoke": args.smoke},
                               "conditions_at_start": report.conditions()}
    if "p3" in args.only.split(","):
        ensure_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(StackConfig.isolated(args.var or Path(tmp), log_level="WARNING"))
        sampler = Sampler(lambda: stack.bootstrap, lambda: {name: stack.url(name) for name in list(stack.processes)})
        figures["_sampler"] = sampler
        try:
            measure(stack, args, figures)
        finally:
            del figures["_sampler"]
            figures["timeseries"] = sampler.stop()
            stack.stop()
    figures["conditions"] = report.conditions()
    report.write(figures, args.out)
    print(report.table(figures))
    print(f"written to {args.out}; charts: {', '.join(map(str, charts.draw(figures, args.charts)))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
