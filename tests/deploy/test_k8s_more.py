"""deploy/k8s beyond the services' own objects: every rendered object is valid against its schema (Kubernetes'
kinds with kubernetes-validate, the KEDA and Prometheus Operator CRDs with their vendored schemas), and the
topics Job, PrometheusRule, dashboards, NetworkPolicies, Ingress, autoscalers and the dev overlay's
dependencies are what the code and the other deploy files say."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import kubernetes_validate
import pytest
import yaml
from jsonschema import Draft7Validator

from tests.deploy.test_k8s import OVERLAYS, ROOT, environment, objects, render
from zhongshi import kafka_plan, monitoring
from zhongshi.launcher import DEFAULT_PORTS, SERVICES

CRDS = Path(__file__).with_name("schemas") / "crds"
HTTP_SERVICES = (*SERVICES, "console")
PORTS = {**DEFAULT_PORTS, "console": 8000}
K8S_VERSION = "1.31"


@cache
def crd_schema(kind: str, api_version: str) -> dict[str, Any]:
    group, version = api_version.split("/")
    path = CRDS / f"{kind.lower()}-{group.split('.')[0]}-{version}.json"
    assert path.exists(), f"no vendored schema for {kind} {api_version}"
    return dict(json.loads(path.read_text()))


def problems(obj: dict[str, Any]) -> list[str]:
    if obj["apiVersion"].split("/")[0] in ("keda.sh", "monitoring.coreos.com"):  # custom resources
        validator = Draft7Validator(crd_schema(obj["kind"], obj["apiVersion"]))
        return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)]
    try:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{list(error.path)}: {error.message}"]
    return []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid_against_its_schema(overlay: str) -> None:
    invalid = {f"{o['kind']}/{o['metadata']['name']}": found
               for o in render(f"overlays/{overlay}") if (found := problems(o))}
    assert invalid == {}


def test_the_validator_refuses_a_mistake_in_a_crd_and_in_a_core_kind() -> None:
    scaled = dict(objects("prod", "ScaledObject")["intake"])
    scaled["spec"] = {**scaled["spec"], "fallbak": {"replicas": 2}}
    assert any("fallbak" in p for p in problems(scaled))
    deployment = dict(objects("prod", "Deployment")["intake"])
    deployment["spec"] = {**deployment["spec"], "replica": 2}
    assert any("replica" in p for p in problems(deployment))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_topics_job_applies_the_plan_the_code_makes(overlay: str) -> None:
    job = objects(overlay, "Job")["zhongshi-kafka-init"]
    pod = job["spec"]["template"]["spec"]
    [plan] = [v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "plan"]
    data = objects(overlay, "ConfigMap")[plan]["data"]
    folder = ROOT / "deploy" / "kafka"
    assert data == {name: (folder / name).read_text() for name in ("kafka-init.sh", "topics.txt", "acls.txt")}
    assert data["topics.txt"] == kafka_plan.render()[folder / "topics.txt"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["KAFKA_APPLY_ACLS"] == ("0" if overlay == "dev" else "1")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_prometheus_rule_is_alerts_yml_and_the_dashboards_are_the_files(overlay: str) -> None:
    [rule] = objects(overlay, "PrometheusRule").values()
    alerts = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    assert rule["spec"]["groups"] == alerts["groups"]
    assert (ROOT / "deploy" / "prometheus" / "prometheus-rule.yaml").read_text() == monitoring.prometheus_rule()
    boards = {o["metadata"]["name"]: o for o in objects(overlay, "ConfigMap").values()
              if o["metadata"].get("labels", {}).get("grafana_dashboard") == "1"}
    files = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
    assert len(boards) == len(files)
    for path in files:
        assert boards[f"zhongshi-dashboard-{path.stem}"]["data"] == {path.name: path.read_text()}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_admit_the_gateway_to_every_api(overlay: str) -> None:
    policies = objects(overlay, "NetworkPolicy")
    deny = policies["zhongshi-default-deny-ingress"]["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress"] and "ingress" not in deny
    apis = policies["zhongshi-apis-from-gateway"]["spec"]
    sources = [s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for s in apis["ingress"][0]["from"]]
    assert sources == ["ingress-nginx", "monitoring"]
    for name in HTTP_SERVICES:
        pods = objects(overlay, "Deployment")[name]["spec"]["template"]["metadata"]["labels"]
        assert apis["podSelector"]["matchLabels"].items() <= pods.items(), name
    egress = policies["zhongshi-services-egress"]["spec"]["egress"]
    ports = {p["port"] for rule in egress for p in rule["ports"]}
    assert {53, 9093, 27017, 443} <= ports


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_routes_every_service_by_name_and_port(overlay: str) -> None:
    ingresses = objects(overlay, "Ingress")
    rules = [rule for ingress in ingresses.values() for rule in ingress["spec"]["rules"]]
    backends = {p["path"]: p["backend"]["service"] for rule in rules for p in rule["http"]["paths"]}
    services = objects(overlay, "Service")
    for name in HTTP_SERVICES:
        [path] = [p for p, backend in backends.items() if backend["name"] == name]
        assert re.fullmatch(path, "/api/v1/x" if name == "console" else f"/{name}/api/v1/x"), path
        assert backends[path]["port"]["name"] in {p["name"] for p in services[name]["spec"]["ports"]}
    for ingress in ingresses.values():
        assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"] for rule in ingress["spec"]["rules"]]
    assert len({rule["host"] for rule in rules}) == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_consoles_pages_are_not_taken_by_a_service_and_a_browser_stays_with_its_replica(overlay: str) -> None:
    """/registry and /registry/<platform id> are the console's public pages; sessions live in one replica."""
    ingresses = objects(overlay, "Ingress")
    service_paths = [p["path"] for name, ingress in ingresses.items() if name != "zhongshi-console"
                     for p in ingress["spec"]["rules"][0]["http"]["paths"]]
    for page in ("/registry", "/registry/P-A20261201-0001", "/auth/callback"):
        assert not any(re.match(path, page) for path in service_paths), page
    assert re.match(next(p for p in service_paths if p.startswith("/registry")), "/registry/api/v1/public/stats")
    annotations = ingresses["zhongshi-console"]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_pod_runs_as_its_own_service_account_without_a_token(overlay: str) -> None:
    accounts = objects(overlay, "ServiceAccount")
    for name in HTTP_SERVICES:
        pod = objects(overlay, "Deployment")[name]["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == name and accounts[name]["automountServiceAccountToken"] is False


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_console_scales_on_cpu_like_the_other_http_heavy_services(overlay: str) -> None:
    hpa = objects(overlay, "HorizontalPodAutoscaler")["console"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "console"
    assert hpa["metrics"][0]["resource"]["name"] == "cpu" and hpa["minReplicas"] <= hpa["maxReplicas"]
    assert "console" not in objects(overlay, "ScaledObject")
    assert "replicas" not in objects(overlay, "Deployment")["console"]["spec"]
    [port] = objects(overlay, "Service")["console"]["spec"]["ports"]
    assert port["port"] == PORTS["console"]


def test_the_dev_overlay_contains_the_kafka_mongodb_and_mailpit_its_services_use() -> None:
    services = objects("dev", "Service")
    sets = objects("dev", "StatefulSet")
    env = environment("dev", "notify")

    def resolves(host: str, port: int) -> bool:
        """host: a Service of the namespace, or <pod>.<headless service> of one of its StatefulSets."""
        if "." in host:
            pod, service = host.split(".", 1)
            owner = sets.get(pod.rsplit("-", 1)[0])
            ok = owner is not None and owner["spec"]["serviceName"] == service and service in services
        else:
            ok = host in services
        return ok and port in {p["port"] for p in services[host.split(".")[-1]]["spec"]["ports"]}

    for address in env["KAFKA_BOOTSTRAP_SERVERS"].split(","):
        host, port = address.rsplit(":", 1)
        assert resolves(host, int(port)), address
    mongo = urlparse(env["MONGODB_URI"])
    assert resolves(mongo.hostname or "", mongo.port or 27017)
    assert resolves(env["NOTIFY_SMTP_HOST"], int(env["NOTIFY_SMTP_PORT"]))
    assert env["KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT"
    dependencies = objects("dev", "NetworkPolicy")["zhongshi-dependencies-from-services"]["spec"]
    assert dependencies["podSelector"]["matchLabels"] == {"app.kubernetes.io/component": "dependency"}
    for name in ("kafka", "mongo"):
        assert sets[name]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "dependency"


def test_production_connects_to_kafka_with_tls_and_the_services_own_scram_user() -> None:
    for name in SERVICES:
        env = environment("prod", name)
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL" and env["KAFKA_SASL_USERNAME"] == kafka_plan.user(name)
        assert env["KAFKA_SSL_CAFILE"].startswith("/etc/zhongshi/kafka-ca/")
        container = objects("prod", "Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
        mount = {"name": "kafka-ca", "mountPath": "/etc/zhongshi/kafka-ca", "readOnly": True}
        assert mount in container["volumeMounts"]
