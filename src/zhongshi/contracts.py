"""`make contracts`: write each service's AsyncAPI 3.0 document and each event's JSON Schema to docs/.

The generated files are committed; a test fails when they are out of date with the code. A change that breaks
the released contract (docs/contract/released, zhongshi.compat) is refused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from zhongshi_contracts.catalog import EVENT_TYPES
from zhongshi_contracts.published import event_schema

from zhongshi import kafka_plan, monitoring
from zhongshi.apps import development_app
from zhongshi.compat import against_release
from zhongshi.launcher import SERVICES

DOCS = Path(__file__).resolve().parents[2] / "docs"

def asyncapi(service: str) -> dict[str, Any]:
    """The service's AsyncAPI document, as its /asyncapi.json serves it, without deployment servers."""
    document: dict[str, Any] = development_app(service).state.kit.asyncapi()
    return document


def event_schemas() -> dict[str, dict[str, Any]]:
    return {model.ce_type(): event_schema(model) for model in EVENT_TYPES}


def render(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def generated() -> dict[Path, str]:
    files = {DOCS / "asyncapi" / f"{s}.json": render(asyncapi(s)) for s in SERVICES}
    files |= {DOCS / "schemas" / f"{t}.json": render(schema) for t, schema in event_schemas().items()}
    return files | kafka_plan.render() | monitoring.render()


def main() -> int:
    refused = against_release(event_schemas())
    for ce_type, problems in refused.items():
        print(f"breaking change to {ce_type} (publish a .v2 type instead): {'; '.join(problems)}")
    if refused:
        return 1
    for path, text in generated().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
