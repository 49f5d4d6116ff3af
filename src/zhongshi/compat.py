"""Schema compatibility of the published events: a `.v1` type may only gain optional fields.

`breaking_changes(old, new)` compares two JSON Schemas (as pydantic writes them: properties, required,
$defs) and names every removed field, changed type and newly required field, recursively through the
definitions both share. A new field in an object the old schema closed (``additionalProperties: false``)
breaks too: a strict subscriber of the old schema refuses it.

The gate compares the code with the last released contract, committed under docs/contract/released/ (not
with the same commit's docs/schemas, which a change rewrites along with the code):

    python -m zhongshi.compat            # exit 1 naming every breaking change against the release
    python -m zhongshi.compat --release  # after a release: the current schemas become the baseline
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

_ANNOTATIONS = frozenset({"description", "examples", "title", "default", "x-classification"})
RELEASED = Path(__file__).resolve().parents[2] / "docs" / "contract" / "released"


def _shape(schema: Any) -> Any:
    """A property's schema without its annotations: what a change of type would change."""
    if isinstance(schema, dict):
        return {k: _shape(v) for k, v in schema.items() if k not in _ANNOTATIONS}
    if isinstance(schema, list):
        return [_shape(v) for v in schema]
    return schema


def _object(old: dict[str, Any], new: dict[str, Any], where: str) -> list[str]:
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name, schema in old_props.items():
        if name not in new_props:
            problems.append(f"{where}{name}: removed")
        elif _shape(schema) != _shape(new_props[name]):
            problems.append(f"{where}{name}: type changed")
    if old.get("additionalProperties") is False:
        for name in sorted(set(new_props) - set(old_props)):
            problems.append(f"{where}{name}: new field where the released schema forbids additional properties")
    for name in sorted(new_required - old_required):
        problems.append(f"{where}{name}: {'became required' if name in old_props else 'new required field'}")
    return problems


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every change that would break a subscriber of the old schema (empty: compatible)."""
    problems = _object(old, new, "")
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for name, definition in old_defs.items():
        if name in new_defs:
            problems += _object(definition, new_defs[name], f"{name}.")
    return problems


def against_release(current: dict[str, dict[str, Any]], released: Path = RELEASED) -> dict[str, list[str]]:
    """Breaking changes of ``current`` (schemas by CloudEvents type) against the released schemas."""
    problems: dict[str, list[str]] = {}
    for path in sorted((released / "schemas").glob("*.json")):
        old = json.loads(path.read_text(encoding="utf-8"))
        new = current.get(path.stem)
        found = breaking_changes(old, new) if new is not None else ["event type removed (keep publishing it)"]
        if found:
            problems[path.stem] = found
    return problems


def release(current: dict[str, dict[str, Any]], released: Path = RELEASED) -> None:
    """Make ``current`` the released baseline (done once per published contract version)."""
    shutil.rmtree(released / "schemas", ignore_errors=True)
    (released / "schemas").mkdir(parents=True)
    for ce_type, schema in current.items():
        text = json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        (released / "schemas" / f"{ce_type}.json").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zhongshi.compat", description=__doc__.splitlines()[0])
    parser.add_argument("--release", action="store_true", help="record the current schemas as the release")
    parser.add_argument("--released", type=Path, default=RELEASED, help="the released contract's folder")
    args = parser.parse_args(argv)
    from zhongshi.contracts import event_schemas  # imports every service: not at module import

    current = event_schemas()
    if args.release:
        release(current, args.released)
        print(f"released {len(current)} event schemas to {args.released}")
        return 0
    problems = against_release(current, args.released)
    for ce_type, found in problems.items():
        print(f"breaking change to {ce_type} (publish a .v2 type instead): {'; '.join(found)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
