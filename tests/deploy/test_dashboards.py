"""The Grafana dashboards as provisioned: one overview, one per service, the 2030 targets and notifications,
each well formed for Grafana and on the provisioned datasource. (tests/deploy/test_prometheus_live.py proves
that every query returns data on a live system.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from zhongshi.launcher import SERVICES

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"


def boards() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def test_the_overview_one_per_service_the_targets_and_notifications() -> None:
    assert set(boards()) == {"overview", *SERVICES, "registry-progress", "notifications"}
    assert len({b["uid"] for b in boards().values()}) == len(boards())


def test_every_panel_queries_the_provisioned_datasource_and_fits_the_grid() -> None:
    [source] = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())["datasources"]
    for name, board in boards().items():
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (name, panel["title"])
            if panel["type"] == "row":
                continue
            assert " / " in panel["title"], "titles are Chinese / English"
            assert panel["datasource"]["uid"] == source["uid"]
            assert panel["targets"] and all(t["datasource"]["uid"] == source["uid"] and t["expr"]
                                            for t in panel["targets"])


def test_compose_opens_the_overview_and_mounts_the_folder_the_provider_reads() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]
    home = compose["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    [provider] = yaml.safe_load((PROVISIONING / "dashboards" / "zhongshi.yml").read_text())["providers"]
    assert home == f"{provider['options']['path']}/overview.json"
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in compose["volumes"]


def test_titles_are_unique_in_both_languages() -> None:
    titles = [b["title"] for b in boards().values()]
    chinese = [t.split(" / ")[0] for t in titles]
    english = [t.split(" / ")[1] for t in titles]
    assert len(set(chinese)) == len(set(english)) == len(titles), titles


def test_every_dashboard_filters_by_instance_and_the_shared_ones_by_service() -> None:
    selector = re.compile(r"(?<![\w:.])((?:zhongshi|faststream)_[\w:]*|up)(?![\w:])(\{[^}]*\})?(?!\s*\()")
    for name, board in boards().items():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        expected = {"instance"} if name in SERVICES else {"service", "instance"}
        assert set(variables) == expected, name
        assert all(v["includeAll"] and v["allValue"] == ".*" for v in variables.values())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                for metric, matchers in selector.findall(re.sub(r"\b(by|without)\s*\([^)]*\)", "", target["expr"])):
                    assert 'instance=~"$instance"' in matchers, (name, panel["title"], metric)


def test_every_alert_links_its_runbook() -> None:
    groups = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())["groups"]
    alerts = [rule for group in groups for rule in group["rules"] if "alert" in rule]
    assert {"ExporterDown", "BrokerUnreachable"} <= {a["alert"] for a in alerts}
    for alert in alerts:
        page = ROOT / alert["annotations"]["runbook_url"]
        assert page.is_file(), alert["alert"]
        assert page.read_text().startswith(f"# {alert['alert']}\n"), page
