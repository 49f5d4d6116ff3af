"""deploy/kafka/kafka-init.sh, run against stand-ins for Kafka's command-line tools that record their calls:
it creates every topic of the plan with its partitions and retention, a SCRAM user per service and every ACL,
and a second run changes no topic's partitions but still applies the retention."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from zhongshi import kafka_plan

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "kafka" / "kafka-init.sh"
# kafka-topics.sh --list prints the topics "created" so far; every call is recorded, one line each.
STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "$CALLS"
case "$*" in
  *--list*) cat "$STATE" 2>/dev/null || true ;;
  *--create*) for a in "$@"; do [ "$prev" = --topic ] && echo "$a" >> "$STATE"; prev=$a; done ;;
esac
"""


@pytest.fixture
def tools(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("kafka-topics.sh", "kafka-configs.sh", "kafka-acls.sh"):
        (bin_dir / tool).write_text(STUB)
        (bin_dir / tool).chmod(0o755)
    passwords = {f"KAFKA_PASSWORD_{u.upper().replace('-', '_')}": f"pw-{u}" for u in {r[0] for r in kafka_plan.acls()}}
    return {"PATH": os.environ["PATH"], "KAFKA_BIN": str(bin_dir), "KAFKA_BOOTSTRAP": "127.0.0.1:9094",
            "KAFKA_CREATE_USERS": "1", "CALLS": str(tmp_path / "calls"), "STATE": str(tmp_path / "topics"),
            **passwords}


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)


def calls(env: dict[str, str]) -> list[str]:
    return Path(env["CALLS"]).read_text().splitlines()


def test_every_topic_user_and_acl_of_the_plan_is_applied(tools: dict[str, str]) -> None:
    done = run(tools)
    assert done.returncode == 0, done.stderr
    made = calls(tools)
    for topic, partitions, retention in kafka_plan.topics():
        assert (f"kafka-topics.sh --bootstrap-server 127.0.0.1:9094 --create --if-not-exists --topic {topic} "
                f"--partitions {partitions} --replication-factor 1 --config retention.ms={retention} "
                f"--config cleanup.policy=delete") in made
    for user in {r[0] for r in kafka_plan.acls()}:
        assert (f"kafka-configs.sh --bootstrap-server 127.0.0.1:9094 --alter --entity-type users --entity-name "
                f"{user} --add-config SCRAM-SHA-512=[iterations=8192,password=pw-{user}]") in made
    acl_calls = [c for c in made if c.startswith("kafka-acls.sh")]
    assert len(acl_calls) == len(kafka_plan.acls())
    assert ("kafka-acls.sh --bootstrap-server 127.0.0.1:9094 --add --allow-principal User:zhongshi-review "
            "--operation Write --topic=pilot.review.decided") in acl_calls
    assert ("kafka-acls.sh --bootstrap-server 127.0.0.1:9094 --add --allow-principal User:zhongshi-monitor "
            "--operation Describe --group=*") in acl_calls
    assert f"all {len(kafka_plan.topics())} topics present" in done.stdout


def test_a_second_run_creates_nothing_and_sets_the_retention(tools: dict[str, str]) -> None:
    assert run(tools).returncode == 0
    Path(tools["CALLS"]).unlink()
    assert run(tools).returncode == 0
    again = calls(tools)
    assert not [c for c in again if "--create" in c]
    assert ("kafka-configs.sh --bootstrap-server 127.0.0.1:9094 --alter --entity-type topics --entity-name "
            "pilot.application.submitted --add-config retention.ms=-1,cleanup.policy=delete") in again


def test_a_missing_password_stops_it_naming_the_variable(tools: dict[str, str]) -> None:
    del tools["KAFKA_PASSWORD_ZHONGSHI_NOTIFY"]
    done = run(tools)
    assert done.returncode == 1 and "set KAFKA_PASSWORD_ZHONGSHI_NOTIFY" in done.stderr


def test_the_plan_keeps_events_forever_and_dead_letters_thirty_days() -> None:
    plan = {topic: (partitions, retention) for topic, partitions, retention in kafka_plan.topics()}
    assert plan["pilot.platform.accredited"][1] == -1
    assert plan["pilot.platform.accredited.dlq"] == (1, 30 * 24 * 3600 * 1000)
