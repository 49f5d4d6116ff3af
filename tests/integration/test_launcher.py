"""`zhongshi up` as an operator runs it, and the sample round `make run` loads."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from zhongshi_contracts.reference import PlatformType, region
from zhongshi_runtime.auth import Role

from tests.integration.helpers import niceness_of_threads
from zhongshi import demo
from zhongshi.demo_materials import DEMO_REQUIRED
from zhongshi.embedded import free_ports
from zhongshi.launcher import APPS, EMBEDDED_NICE, SERVICES, Stack
from zhongshi.polling import wait_until

pytestmark = pytest.mark.integration


def descendants_of(pid: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found: set[int] = set()
    level = {pid}
    while level := {child for child, parent in parents.items() if parent in level} - found:
        found |= level
    return found


def free_block(count: int) -> int:
    """The first of ``count`` consecutive free ports."""
    for first in range(30000, 60000, count):
        with contextlib.ExitStack() as held:
            try:
                for port in range(first, first + count):
                    held.enter_context(socket.create_server(("127.0.0.1", port)))
            except OSError:
                continue
            return first
    raise RuntimeError(f"no {count} consecutive free ports")


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_up_starts_everything_and_sigterm_leaves_no_process_behind(tmp_path: Path) -> None:
    kafka_port, idp_port, mail_port, *app_ports = free_ports(3 + len(APPS))
    mongo_port = free_block(len(SERVICES))  # the databases listen on consecutive ports from ZHONGSHI_MONGO_PORT
    ports = {f"{name.upper()}_PORT": str(port) for name, port in zip(APPS, app_ports, strict=True)}
    env = {**os.environ, **ports, "ZHONGSHI_KAFKA_PORT": str(kafka_port), "ZHONGSHI_MONGO_PORT": str(mongo_port),
           "ZHONGSHI_IDP_PORT": str(idp_port), "ZHONGSHI_SMTP_PORT": str(mail_port)}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.pop("MONGODB_URI", None)
    up = subprocess.Popen([sys.executable, "-m", "zhongshi.cli", "up", "--var-dir", str(tmp_path)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = up.stdout.readline()
            lines.append(line)
            if "press Ctrl-C" in line or not line:
                break
        output = "".join(lines)
        assert "zhongshi is up" in output, output
        # each component reported as it came up (zhongshi.progress), before the summary
        for component in ("databases (SecantusDB, one per service)", "broker (Tansu)",
                          "identity provider (OpenID Connect)", *(f"service {n} ready" for n in SERVICES)):
            assert f"✓ {component}" in output, output
        for name in SERVICES:
            url = f"http://127.0.0.1:{ports[f'{name.upper()}_PORT']}"
            assert f"{url}/docs" in output and f"{url}/asyncapi" in output and f"{url}/metrics" in output
            database = f"mongodb://127.0.0.1:{mongo_port + SERVICES.index(name)}/"  # each its own server
            assert f"{url}/metrics  {database}" in output, output
            assert httpx.get(url + "/ready").status_code == 200
        issuer = f"http://127.0.0.1:{idp_port}"
        assert f"identity   {issuer}" in output and "applicant01b" in output and "zhongshi-demo" in output
        assert httpx.get(issuer + "/.well-known/openid-configuration").json()["issuer"] == issuer
        console = f"http://127.0.0.1:{ports['CONSOLE_PORT']}"
        assert f"{console}/" in output and httpx.get(console + "/ready").status_code == 200
        processes = descendants_of(up.pid)
        # broker, fork server, provider, mail sink; apps; services' databases
        assert len(processes) == 4 + len(APPS) + len(SERVICES), processes
        up.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0
        assert "stopped" in up.stdout.read()
        wait_until(lambda: not [pid for pid in processes if alive(pid)], "every process gone", 10)
    finally:
        if up.poll() is None:
            up.kill()


def test_the_sample_round_loads_idempotently_and_goes_through_the_chain(stack: Stack) -> None:
    first = demo.load(stack)
    second = demo.load(stack)  # a restart of `make run` loads it again: nothing is duplicated or redone
    apps = second.applications
    assert [a["id"] for a in first.applications] == [a["id"] for a in apps]
    assert [[t["event_id"] for t in a["timeline"]] for a in first.applications] == [
        [t["event_id"] for t in a["timeline"]] for a in apps]
    assert len(apps) >= 30
    assert all({m["kind"] for m in a["materials"]} >= set(DEMO_REQUIRED) for a in apps)  # real small PDFs
    shown = apps[0]["materials"][0]
    pdf = httpx.get(f"{stack.url('intake')}/api/v1/applications/{apps[0]['id']}/materials/{shown['id']}",
                    headers={"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}, timeout=30)
    assert pdf.content.startswith(b"%PDF-") and hashlib.sha256(pdf.content).hexdigest() == shown["sha256"]
    assert len({region(a["region_code"]).city_code for a in apps}) >= 8
    assert {a["dossier"]["platform"]["platform_type"] for a in apps} == {t.value for t in PlatformType}
    failing = {c for a in apps for t in a["timeline"] if t["event_type"].endswith("screened")
               for c in t["details"]["failing"]}
    assert failing >= {"C1", "C2", "C3", "C4", "C7", "C8", "C9"}
    statuses = {a["status"] for a in apps}
    assert statuses >= {"returned", "rejected", "city_review", "declined", "accredited", "cultivation",
                        "review_declined"}  # publicity closed on the registry's development clock
    assert not {s for s in statuses if s.startswith("proposed_")}
    wuhan = next(p for p in second.progress if p["city_code"] == "420100")
    assert wuhan["quota_used"] == wuhan["quota"] == 4 and wuhan["by_stage"]["city_review"] >= 1  # quota ran out
    opinions = [t["details"].get("opinion", "") for a in apps for t in a["timeline"]]
    assert any("同意推荐" in o for o in opinions) and any("例外认定" in o for o in opinions)
    review = second.review
    assert review["confirmed_at"] and not review["incomplete"]
    ranks = [i["rank"] for i in review["items"] if i["rank"]]
    assert ranks == list(range(1, len(ranks) + 1))
    accredited = [i for i in review["items"] if i["decision"] == "accredit"]
    assert 0 < len(accredited) <= review["settings"]["quota"]
    assert all(float(i["score"]) >= 80 for i in accredited)
    panel_steps = [t for a in apps for t in a["timeline"] if t["event_type"] == "pilot.review.panel-drawn"]
    assert panel_steps and all("E0" not in t["summary"] for t in panel_steps)  # experts are never named
    assert second.mails >= len(apps)  # every applicant was e-mailed at least once, into the local maildir
    table = demo.summary(second)
    assert "拟认定为省级制造业中试平台" in table and "推荐指标" in table and f"共{len(apps)}份申报" in table


def test_notify_and_its_database_yield_the_cpu_to_the_applicants_path(stack: Stack) -> None:
    """Every thread of notify and of its database runs at the niceness EMBEDDED_NICE gives it, more than the
    path's (intake, screening): contended cores go to the path first."""
    own = os.getpriority(os.PRIO_PROCESS, 0)
    nicer = min(19, own + EMBEDDED_NICE["notify"])
    assert nicer > own
    for name, niceness in (("intake", own), ("screening", own), ("notify", nicer)):
        for process in (stack.processes[name], stack.databases[name]):
            assert set(niceness_of_threads(process.pid)) == {niceness}, name
