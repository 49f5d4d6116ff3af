"""Prometheus and Grafana proven on live data (issue #7).

The alert rules pass ``promtool check rules`` and their unit tests (``deploy/prometheus/alerts_test.yml``); then a
real Prometheus scrapes the embedded stack, with the scrape jobs of ``deploy/prometheus/prometheus.yml``, while the
sample round runs, and every PromQL expression of every dashboard panel and of every alert is queried over that
time. The rule:

- a **dashboard** expression passes when at least one of its series has a number (not NaN) at some step: the
  panel is never empty;
- an **alert** expression passes when it returns a sample, or — as a healthy system keeps most alerts false
  (``up == 0``, ``increase(dead letters) > 0``) — when every metric selector in it returns data, so the alert
  reads series that exist and fires the moment their values turn.

kafka_exporter cannot run here: ``lag_exporter.py`` serves its consumer-group series from the embedded broker.
Prometheus and promtool come from Debian's ``prometheus`` package: the ones on PATH, else the package's files
unpacked under var/tools (``apt-get download`` needs no root, only apt's package lists, which root makes with
``apt-get update`` when they are missing). Without either the tests fail, saying so: never skipped.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from zhongshi_runtime.auth import Role

from zhongshi import demo
from zhongshi.embedded import free_ports
from zhongshi.launcher import SERVICES, Stack, StackConfig
from zhongshi.polling import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.before_sample_round]  # it watches the round load

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
# Grafana's variables, as it would expand them for a one-hour view of a 15 s scrape.
# Template variables (instance, service) at their "All" value.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h",
                     "$instance": ".*", "$service": ".*"}
TOOLS = ROOT / "var" / "tools" / "prometheus"

# PromQL: groupings name labels, not metrics; ranges and strings hold no selector.
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_SELECTOR = re.compile(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])\s*(\{[^}]*\})?(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def selectors(expr: str) -> list[str]:
    """The metric selectors of a PromQL expression, e.g. ``up{job="intake"}`` (functions and labels left out)."""
    text = _RANGE.sub("", _GROUPING.sub("", expr))
    return [name + (matchers or "") for name, matchers in _SELECTOR.findall(text) if name not in _KEYWORDS]


def test_selectors_are_the_metrics_an_expression_reads() -> None:
    expr = ('sum by (service) (rate(zhongshi_handler_retries_total[5m])) / on (service) '
            'sum by (service) (rate(x_count{kind=~"failed|rejected"}[5m])) > 0.05 and absent(up{job="a"})')
    assert selectors(expr) == ["zhongshi_handler_retries_total", 'x_count{kind=~"failed|rejected"}', 'up{job="a"}']


# ---- the tools -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def prometheus_tools() -> dict[str, str]:
    """promtool and prometheus: on PATH, else Debian's package unpacked under var/tools (no root needed)."""
    names = ("promtool", "prometheus")
    if all(shutil.which(name) for name in names):
        return {name: shutil.which(name) or name for name in names}
    unpacked = {name: TOOLS / "usr" / "bin" / name for name in names}
    if not all(path.exists() for path in unpacked.values()):
        problem = unpack_debian_prometheus()
        if problem:
            pytest.fail("needs promtool and prometheus: install Debian's prometheus package (apt-get install "
                        "prometheus, as root) or put both on PATH. Unpacking the package without root failed: "
                        + problem)
    return {name: str(path) for name, path in unpacked.items()}


def unpack_debian_prometheus() -> str:
    """Download Debian's prometheus package with apt-get and unpack it into var/tools; the error, if any."""
    downloads = TOOLS.parent / "debs"
    downloads.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0 and not list(Path("/var/lib/apt/lists").glob("*Packages*")):
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=300)
    fetched = subprocess.run(["apt-get", "download", "prometheus"], cwd=downloads, capture_output=True, text=True,
                             timeout=600)
    debs = sorted(downloads.glob("prometheus_*.deb"))
    if fetched.returncode != 0 or not debs:
        return f"apt-get download prometheus: {fetched.stderr.strip() or 'no package'}"
    unpacked = subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(TOOLS)], capture_output=True, text=True,
                              timeout=300)
    return "" if unpacked.returncode == 0 else f"dpkg-deb -x: {unpacked.stderr.strip()}"


def test_the_alert_rules_pass_promtool_and_their_unit_tests(prometheus_tools: dict[str, str]) -> None:
    promtool = prometheus_tools["promtool"]
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]):
        done = subprocess.run([promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
    tested = set(re.findall(r"alertname: (\w+)", (PROMETHEUS / "alerts_test.yml").read_text()))
    assert tested == {rule["alert"] for rule in alert_rules()}, "every alert has a unit test"


# ---- what the dashboards and alerts ask -----------------------------------------------------------------
def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard_expressions() -> Iterator[tuple[str, str]]:
    """(where, expression) for every target of every panel, Grafana's variables expanded."""
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            if panel["type"] == "row":
                continue
            assert panel.get("targets"), f"{path.name}: panel {panel['title']!r} has no query"
            for target in panel["targets"]:
                expr = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(variable, value)
                assert "$" not in expr, f"{path.name}: unknown variable in {expr}"
                yield f"{path.name} / {panel['title']} / {target['refId']}", expr


# ---- a live Prometheus ----------------------------------------------------------------------------------
def scrape_config(stack: Stack, lag_port: int, prometheus_port: int, rules: Path) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml with the embedded stack's addresses and a 1 s scrape."""
    config: dict[str, Any] = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    config["global"] |= {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(rules)]
    targets = {**{name: stack.config.ports[name] for name in SERVICES if name in stack.config.ports},
               "kafka-exporter": lag_port, "prometheus": prometheus_port}
    # Jobs of what the embedded stack has not (the console, the MongoDB exporter) are left out; DNS discovery
    # becomes the one local target.
    config["scrape_configs"] = [job for job in config["scrape_configs"] if job["job_name"] in targets]
    for job in config["scrape_configs"]:
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": [f"127.0.0.1:{targets[job['job_name']]}"]}]
    return config


def responds(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def round_stack(stack: Stack, tmp_path: Path) -> Iterator[Stack]:
    """A stack the sample round has not been loaded into: the session's (this module runs before any test
    that loads it: `before_sample_round`), else a new one — a second load adds no event to watch."""
    province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
    loaded = httpx.get(f"{stack.url('intake')}/api/v1/rounds/{demo.ROUND_ID}", headers=province, timeout=10)
    if loaded.status_code == 404:
        yield stack
        return
    own = Stack(StackConfig.isolated(tmp_path / "stack"))
    try:
        own.start()
        yield own
    finally:
        own.stop()


@pytest.fixture
def prometheus(round_stack: Stack, prometheus_tools: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """A real Prometheus scraping ``round_stack`` and a lag exporter every second; yields its URL."""
    lag_port, port = free_ports(2)
    logs = tmp_path / "logs"
    logs.mkdir()
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config(round_stack, lag_port, port, PROMETHEUS / "alerts.yml")))
    with (logs / "lag.log").open("wb") as lag_log, (logs / "prometheus.log").open("wb") as prom_log:
        lag = subprocess.Popen([sys.executable, str(Path(__file__).with_name("lag_exporter.py")),
                                round_stack.bootstrap, str(lag_port)], stdout=lag_log, stderr=subprocess.STDOUT)
        server = subprocess.Popen([prometheus_tools["prometheus"], f"--config.file={config}",
                                   f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
                                   "--log.level=warn"], stdout=prom_log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: responds(url + "/-/ready"), "Prometheus ready", 60, server)
        wait_until(lambda: responds(f"http://127.0.0.1:{lag_port}/metrics"), "lag exporter serving", 30, lag)
        yield url
    finally:
        for process in (server, lag):
            process.terminate()
        for process in (server, lag):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def query_range(http: httpx.Client, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    r = http.get("/api/v1/query_range", params={"query": expr, "start": start, "end": end, "step": 1})
    body = r.json()
    assert r.status_code == 200 and body["status"] == "success", f"{expr}: {body.get('error', r.text)}"
    return list(body["data"]["result"])


def has_number(result: list[dict[str, Any]]) -> bool:
    return any(not math.isnan(float(v)) for series in result for _, v in series["values"])


def test_every_dashboard_and_alert_expression_returns_data_while_the_sample_round_runs(
    round_stack: Stack, prometheus: str
) -> None:
    with httpx.Client(base_url=prometheus, timeout=30) as http:
        # Prometheus applies its targets a few seconds after it is ready: a round loaded before every target's
        # first scrape could finish a stage unseen (screening takes a second), leaving its rates flat.
        jobs = len(SERVICES) + 2  # and the lag exporter and Prometheus itself (scrape_config)
        wait_until(lambda: len(http.get("/api/v1/query", params={"query": "up == 1"}).json()["data"]["result"])
                   == jobs, "every target scraped once", 60)
        started = time.time()
        demo.load(round_stack)
        loaded = time.time()
        # Every target scraped (and the rules evaluated) once more after the round's last step.
        wait_until(lambda: float(http.get("/api/v1/query", params={"query": "min(timestamp(up))"}).json()
                                 ["data"]["result"][0]["value"][1]) > loaded + 1, "a scrape after the round", 30)
        # A counter first published at the round's end (the registry's events) may have one sample yet, and a
        # rate needs two: poll, with a deadline, until every panel has data (the last reading is what fails).
        empty_panels: list[str] = []

        def every_panel_has_data() -> bool:
            empty_panels[:] = [f"{where}: {expr}" for where, expr in dashboard_expressions()
                               if not has_number(query_range(http, expr, started, time.time()))]
            return not empty_panels

        with contextlib.suppress(TimeoutError):
            wait_until(every_panel_has_data, "data on every panel", 60, interval=1.0)
        end = time.time()
        silent_alerts = []
        for rule in alert_rules():
            if query_range(http, rule["expr"], started, end):
                continue
            missing = [s for s in selectors(rule["expr"]) if not query_range(http, s, started, end)]
            if missing or not selectors(rule["expr"]):
                silent_alerts.append(f"{rule['alert']}: no data for {missing}")
    assert empty_panels == [], "panels without data:\n" + "\n".join(empty_panels)
    assert silent_alerts == [], "alerts reading no series:\n" + "\n".join(silent_alerts)
