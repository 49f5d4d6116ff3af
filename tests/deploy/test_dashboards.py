"""The Grafana dashboards as provisioned: one overview, one per service, the 2030 targets and notifications,
each well formed for Grafana and on the provisioned datasource. (tests/deploy/test_prometheus_live.py proves
that every query returns data on a live system.)"""

from __future__ import annotations

import json
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
