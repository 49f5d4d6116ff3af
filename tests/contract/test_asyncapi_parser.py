"""The published AsyncAPI documents pass the reference parser (@asyncapi/parser 3, tools/contract-check) and
the event schemas their metaschema; a document with a dangling reference is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from zhongshi_contracts.catalog import EVENT_TYPES
from zhongshi_contracts.published import event_schema

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "contract-check"
FIXTURES = Path(__file__).parent / "fixtures"
DOCUMENTS = sorted((ROOT / "docs" / "asyncapi").glob("*.json"))


@cache
def parser_ready() -> Path:
    """tools/contract-check with its locked node_modules (`npm ci` once: the only fetch, at install time)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("the AsyncAPI check needs Node.js 18+ and npm on PATH (apt-get install nodejs npm)")
    if not (TOOL / "node_modules" / "@asyncapi" / "parser").is_dir():
        done = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=TOOL,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"npm ci in {TOOL} failed:\n{done.stdout}\n{done.stderr}"
    return Path(node)


def validate(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(parser_ready()), str(TOOL / "validate.mjs"), *map(str, files)],
                          capture_output=True, text=True, timeout=300)


def test_every_published_asyncapi_document_is_valid() -> None:
    assert len(DOCUMENTS) >= 5
    done = validate(*DOCUMENTS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": valid\n") == len(DOCUMENTS)


def test_a_dangling_reference_is_refused() -> None:
    done = validate(FIXTURES / "invalid-ref.asyncapi.json")
    assert done.returncode == 1
    assert "invalid-ref" in done.stdout and "#/$defs/Actor" in done.stdout


def test_every_message_names_its_one_type_its_time_format_and_the_servers() -> None:
    for path in DOCUMENTS:
        document = json.loads(path.read_text(encoding="utf-8"))
        assert {"production", "development"} <= set(document["servers"])
        for message in document["components"]["messages"].values():
            headers = message["headers"]["properties"]
            assert headers["ce_type"]["const"].startswith("cn.gov.hubei.pilot.")
            assert headers["ce_time"]["format"] == "date-time"
        text = path.read_text(encoding="utf-8")
        assert "#/$defs/" not in text and '"additionalProperties": false' not in text


def test_event_schemas_are_valid_json_schemas_and_accept_what_the_code_sends() -> None:
    published, released = ROOT / "docs" / "schemas", ROOT / "docs" / "contract" / "released" / "schemas"
    names = {f"{model.ce_type()}.json" for model in EVENT_TYPES}
    assert {p.name for p in published.glob("*.json")} == names  # one schema per event type the code has
    assert {p.name for p in released.glob("*.json")} <= names  # a released type is never dropped
    for path in [*published.glob("*.json"), *released.glob("*.json")]:
        Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))
    for model in EVENT_TYPES:
        Draft202012Validator.check_schema(event_schema(model))


def test_every_schema_reference_names_a_component_of_the_same_document() -> None:
    for path in DOCUMENTS:
        document = json.loads(path.read_text(encoding="utf-8"))
        names = set(document["components"]["schemas"])
        assert {ref.removeprefix("#/components/schemas/") for ref in _refs(document)} <= names, path.name


def _refs(node: object) -> list[str]:
    """Every schema reference in ``node``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        own = [ref] if isinstance(ref, str) and ref.startswith("#/components/schemas/") else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
