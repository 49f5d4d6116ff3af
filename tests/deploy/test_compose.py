"""docker-compose.yml cannot run here (no Docker engine): check what it promises against the code."""

from __future__ import annotations

import importlib
import logging
import re
from pathlib import Path

import yaml
from zhongshi_contracts.topics import ALL_TOPICS
from zhongshi_intake.settings import IntakeSettings
from zhongshi_runtime.messaging import create_broker
from zhongshi_runtime.metrics import RuntimeMetrics
from zhongshi_runtime.serve import GRACEFUL_SHUTDOWN_S

from zhongshi.launcher import DEFAULT_PORTS, SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_topic_initialiser_creates_every_contract_topic_with_its_partitions() -> None:
    script = " ".join(COMPOSE["services"]["kafka-init"]["command"]) if isinstance(
        COMPOSE["services"]["kafka-init"]["command"], list) else COMPOSE["services"]["kafka-init"]["command"]
    specs = dict(re.findall(r"(pilot\.[a-z.-]+):(\d+)", str(script)))
    assert specs == {t.name: str(t.partitions) for t in ALL_TOPICS}


def test_every_service_is_built_from_its_own_target_and_listens_on_its_port() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for name in SERVICES:
        service = COMPOSE["services"][name]
        assert service["build"]["target"] == name
        assert re.search(rf"^FROM \S+ AS {name}$", dockerfile, re.MULTILINE)
        env = service["environment"]
        assert str(env[f"{name.upper()}_PORT"]) == str(DEFAULT_PORTS[name])
        assert env["ZHONGSHI_ENV"] == "test"  # its MongoDB has neither credentials nor TLS: production refuses


def test_services_get_longer_to_stop_than_the_shutdown_they_wait_for() -> None:
    handlers_in_flight = create_broker(IntakeSettings(), RuntimeMetrics("intake"), logging.getLogger()).config
    assert handlers_in_flight.graceful_timeout is not None
    needed = GRACEFUL_SHUTDOWN_S + handlers_in_flight.graceful_timeout
    for name in SERVICES:
        grace = str(COMPOSE["services"][name]["stop_grace_period"])
        assert int(grace.removesuffix("s")) > needed


def test_every_variable_given_to_a_service_is_one_its_settings_class_reads() -> None:
    for name in SERVICES:
        settings = importlib.import_module(f"zhongshi_{name}.app").create_app().state.kit.settings
        read = {f.validation_alias for f in type(settings).model_fields.values() if isinstance(f.validation_alias, str)}
        given = set(COMPOSE["services"][name]["environment"])
        assert given <= read, f"{name} does not read {given - read}"
