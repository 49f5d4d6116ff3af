"""docker-compose.yml cannot run here (no Docker engine): render it as compose would, validate it against the
Compose Specification's schema, and check what it promises against the code: every scrape target and every
gateway route reaches a service of the stack, no service publishes a host port (so any scales), every
service connects to Kafka with its own SCRAM user and to MongoDB with its own user."""

from __future__ import annotations

import importlib
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from zhongshi_intake.settings import IntakeSettings
from zhongshi_runtime.messaging import create_broker
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.serve import GRACEFUL_SHUTDOWN_S

from tests.deploy.compose_file import ROOT, MissingVariable, environment, example_env, render
from zhongshi import kafka_plan
from zhongshi.launcher import DEFAULT_PORTS, SERVICES

COMPOSE = render()
SCHEMA = Path(__file__).with_name("schemas") / "compose-spec.json"
PORTS = {**DEFAULT_PORTS, "console": 8000}
HTTP_SERVICES = (*SERVICES, "console")  # the console (services/console) is built and routed like the others


def services() -> dict[str, dict[str, Any]]:
    return dict(COMPOSE["services"])


def listening_port(name: str) -> int:
    """Where the container ``name`` listens: a service's <NAME>_PORT, an exporter's --web.listen-address."""
    service = services()[name]
    env = environment(service)
    if f"{name.upper()}_PORT" in env:
        return int(env[f"{name.upper()}_PORT"])
    flags = [a for a in service.get("command", []) if str(a).startswith("--web.listen-address=")]
    if flags:
        return int(flags[0].rsplit(":", 1)[1])
    return {"keycloak": 8080, "grafana": 3000, "prometheus": 9090, "mailpit": 1025}[name]


def test_the_file_renders_and_is_valid_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(COMPOSE), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_every_required_variable_is_in_the_example_env_and_a_missing_one_stops_compose() -> None:
    env = example_env()
    del env["KAFKA_PASSWORD_REVIEW"]
    with pytest.raises(MissingVariable, match="KAFKA_PASSWORD_REVIEW"):
        render(env)


def test_no_service_publishes_a_host_port_so_each_can_scale() -> None:
    published = {n: s["ports"] for n, s in services().items() if s.get("ports")}
    assert not set(published) & set(HTTP_SERVICES), published
    assert published["gateway"] == [f"{example_env()['GATEWAY_PORT']}:8080"]
    for name, ports in published.items():  # operators' tools: on the loopback interface only
        assert name == "gateway" or all(str(p).startswith("127.0.0.1:") for p in ports), name


def test_every_reference_names_something_defined() -> None:
    defined = services()
    volumes, secrets = set(COMPOSE["volumes"]), set(COMPOSE["secrets"])
    for name, service in defined.items():
        assert set(service.get("depends_on", {})) <= set(defined), name
        if "network_mode" in service:
            assert service["network_mode"].removeprefix("service:") in defined
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("./"):
                path = source.removeprefix("./")
                assert (ROOT / path).exists(), f"{name}: {source} does not exist"
            else:
                assert source in volumes, f"{name}: volume {source} is not declared"
        assert set(service.get("secrets", [])) <= secrets


@pytest.mark.parametrize("name", HTTP_SERVICES)
def test_every_service_is_built_from_the_one_dockerfile_with_its_package(name: str) -> None:
    service = services()[name]
    assert service["build"]["args"] == {"SERVICE": name, "PORT": str(PORTS[name])}
    assert service["image"].startswith(f"zhongshi/{name}:")
    env = environment(service)
    assert env[f"{name.upper()}_PORT"] == str(PORTS[name])
    assert env["ZHONGSHI_ENV"] == "test"  # its MongoDB has credentials but no TLS: production refuses it
    assert f"127.0.0.1:{PORTS[name]}/health" in " ".join(service["healthcheck"]["test"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'uv sync --frozen --no-dev --package "zhongshi-${SERVICE}"' in dockerfile


# ---- Prometheus ------------------------------------------------------------------------------------------
def scrape_jobs() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_every_scrape_target_resolves_to_a_service_of_the_stack_on_its_port() -> None:
    for job_name, job in scrape_jobs().items():
        targets = [(name, sd["port"]) for sd in job.get("dns_sd_configs", []) for name in sd["names"]]
        targets += [tuple(t.rsplit(":", 1)) for sc in job.get("static_configs", []) for t in sc["targets"]]
        assert targets, job_name
        for host, port in targets:
            if host == "localhost":
                assert job_name == "prometheus"
                continue
            assert host in services(), f"{job_name}: {host} is no service of docker-compose.yml"
            assert int(port) == listening_port(host), f"{job_name}: {host} listens on {listening_port(host)}"


def test_every_replica_of_every_service_is_scraped_through_dns() -> None:
    jobs = scrape_jobs()
    for name in HTTP_SERVICES:
        [sd] = jobs[name]["dns_sd_configs"]
        assert sd["names"] == [name] and sd["type"] == "A", name
    assert {"kafka-exporter", "mongodb-exporter"} <= set(jobs)


# ---- the gateway -----------------------------------------------------------------------------------------
_ROUTE = re.compile(r"^\t(handle_path|handle)\s*(\S*)\s*\{\n(.*?)^\t\}", re.MULTILINE | re.DOTALL)
_MATCHER = re.compile(r"^\t@(\S+) path (.+)$", re.MULTILINE)
_UPSTREAM = re.compile(r"dynamic a (\S+) (\d+)|reverse_proxy ([\w.-]+):(\d+)")
_STRIP = re.compile(r"uri strip_prefix (\S+)")


def routes() -> list[tuple[str, str, str, int]]:
    """(path pattern, prefix stripped, upstream host, port) for every proxied route of the Caddyfile; a named
    matcher (``@registry path …``) gives one route per path it lists."""
    text = (ROOT / "deploy" / "gateway" / "Caddyfile").read_text()
    matchers = {name: paths.split() for name, paths in _MATCHER.findall(text)}
    found = []
    for directive, pattern, body in _ROUTE.findall(text):
        patterns = matchers[pattern[1:]] if pattern.startswith("@") else [pattern or "*"]
        stripped = _STRIP.search(body)
        for match in _UPSTREAM.finditer(body):
            host, port = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
            for path in patterns:
                strip = path.removesuffix("/*") if directive == "handle_path" else stripped.group(1) if stripped else ""
                found.append((path, strip, host, int(port)))
    return found


def route_for(path: str) -> tuple[str, str]:
    """(upstream, path it receives) for a request path: the longest matching pattern, as Caddy sorts them."""
    def matches(pattern: str) -> bool:
        return pattern == "*" or (path.startswith(pattern[:-1]) if pattern.endswith("*") else path == pattern)

    _, strip, host, _ = max((r for r in routes() if matches(r[0])), key=lambda r: len(r[0]))
    return host, path.removeprefix(strip)


def test_every_gateway_route_reaches_a_service_of_the_stack_on_its_port() -> None:
    assert len(routes()) >= len(HTTP_SERVICES) + 2
    for pattern, _, host, port in routes():
        assert host in services(), f"{pattern}: {host} is no service of docker-compose.yml"
        assert port == listening_port(host), f"{pattern}: {host} listens on {listening_port(host)}"


@pytest.mark.parametrize("name", SERVICES)
def test_every_api_path_of_every_service_is_routed_to_it(name: str) -> None:
    paths = importlib.import_module(f"zhongshi_{name}.app").create_app().openapi()["paths"]
    for path in paths:
        assert route_for(f"/{name}{path}") == (name, path)
    assert route_for("/") == ("console", "/") and route_for("/auth/realms/zhongshi")[0] == "keycloak"


def test_the_consoles_own_paths_reach_the_console() -> None:
    """Its login callback, its public registry pages; and Keycloak's admin console is not published."""
    for path in ("/auth/callback", "/registry", "/registry/P-A20261201-0001", "/auth/admin/master/console/"):
        assert route_for(path) == ("console", path)
    assert route_for("/registry/api/v1/public/stats") == ("registry", "/api/v1/public/stats")


def test_keycloak_imports_the_realm_whose_issuer_the_services_trust() -> None:
    keycloak = services()["keycloak"]
    [realm_file] = [m.split(":")[0] for m in keycloak["volumes"] if "/opt/keycloak/data/import/" in m]
    realm = json.loads((ROOT / realm_file).read_text())["realm"]
    env = environment(keycloak)
    issuer = f"{env['KC_HOSTNAME']}/realms/{realm}"
    for name in SERVICES:
        service_env = environment(services()[name])
        assert service_env["AUTH_ISSUER"] == issuer
        assert service_env["AUTH_JWKS_URL"].startswith(f"http://keycloak:8080{env['KC_HTTP_RELATIVE_PATH']}/realms/{realm}/")
    assert "--import-realm" in keycloak["command"]


def test_metrics_are_not_served_through_the_gateway() -> None:
    text = (ROOT / "deploy" / "gateway" / "Caddyfile").read_text()
    assert "@metrics path */metrics" in text and "respond @metrics 404" in text


# ---- Kafka and MongoDB credentials -----------------------------------------------------------------------
@pytest.mark.parametrize("name", SERVICES)
def test_each_service_has_its_own_kafka_and_mongodb_user(name: str) -> None:
    env = environment(services()[name])
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL" and env["KAFKA_SASL_USERNAME"] == kafka_plan.user(name)
    assert env["KAFKA_SASL_PASSWORD"] == example_env()[f"KAFKA_PASSWORD_{name.upper()}"]
    init = environment(services()["kafka-init"])
    assert init[f"KAFKA_PASSWORD_ZHONGSHI_{name.upper()}"] == env["KAFKA_SASL_PASSWORD"]
    assert env["MONGODB_URI"].startswith(f"mongodb://zhongshi-{name}:{example_env()[f'MONGO_PASSWORD_{name.upper()}']}@")
    assert f'"{name}"' in (ROOT / "deploy" / "mongo" / "mongo-init.js").read_text()
    assert "@mongo:27017/" in env["MONGODB_URI"] and "authSource=admin" in env["MONGODB_URI"]


def test_kafka_init_has_a_password_for_every_user_the_acls_name() -> None:
    init = environment(services()["kafka-init"])
    users = {rule[0] for rule in kafka_plan.acls()}
    for user in users:
        assert init.get(f"KAFKA_PASSWORD_{user.upper().replace('-', '_')}"), user


def test_only_the_trusted_local_listener_is_plaintext() -> None:
    env = environment(services()["kafka"])
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    listeners = dict(item.split("://") for item in env["KAFKA_LISTENERS"].split(","))
    for name, protocol in protocols.items():
        assert protocol == "SASL_SSL" or listeners[name].startswith(("127.0.0.1:", "localhost:")), name
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"


# ---- what was already checked ----------------------------------------------------------------------------
def test_services_get_longer_to_stop_than_the_shutdown_they_wait_for() -> None:
    handlers_in_flight = create_broker(IntakeSettings(), RuntimeMetrics("intake"), logging.getLogger()).config
    assert handlers_in_flight.graceful_timeout is not None
    needed = GRACEFUL_SHUTDOWN_S + handlers_in_flight.graceful_timeout
    for name in HTTP_SERVICES:
        grace = str(services()[name]["stop_grace_period"])
        assert int(grace.removesuffix("s")) > needed


def test_every_variable_given_to_a_service_is_one_its_settings_class_reads() -> None:
    for name in SERVICES:
        settings = importlib.import_module(f"zhongshi_{name}.app").create_app().state.kit.settings
        read = {f.validation_alias for f in type(settings).model_fields.values() if isinstance(f.validation_alias, str)}
        given = set(environment(services()[name]))
        assert given <= read, f"{name} does not read {given - read}"
