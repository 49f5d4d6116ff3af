"""The compatibility gate compares the code with the released contract (docs/contract/released), and a
breaking change in a fixture release fails it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from zhongshi.compat import RELEASED, against_release
from zhongshi.contracts import event_schemas

FIXTURE = Path(__file__).parent / "fixtures" / "released-breaking"


def test_the_code_is_compatible_with_the_released_contract() -> None:
    assert len(list((RELEASED / "schemas").glob("*.json"))) == 24
    assert against_release(event_schemas()) == {}


def test_a_breaking_change_against_the_release_is_named() -> None:
    problems = against_release(event_schemas(), FIXTURE)
    assert problems == {
        "cn.gov.hubei.pilot.application.submitted.v1": [
            "Applicant.contact: new field where the released schema forbids additional properties",
            "Applicant.contact: new required field"],
        "cn.gov.hubei.pilot.application.withdrawn.v1": ["withdrawn_by: removed"],
    }


def test_a_removed_event_type_breaks_the_release() -> None:
    current = event_schemas()
    del current["cn.gov.hubei.pilot.review.decided.v1"]
    assert list(against_release(current)) == ["cn.gov.hubei.pilot.review.decided.v1"]


def test_the_gate_command_fails_on_the_breaking_fixture_and_passes_on_the_release() -> None:
    command = [sys.executable, "-m", "zhongshi.compat", "--released"]
    refused = subprocess.run([*command, str(FIXTURE)], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1, refused.stderr
    assert "application.withdrawn.v1 (publish a .v2 type instead): withdrawn_by: removed" in refused.stdout
    passed = subprocess.run([*command, str(RELEASED)], capture_output=True, text=True, timeout=120)
    assert passed.returncode == 0, passed.stdout + passed.stderr
