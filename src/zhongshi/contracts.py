"""`make contracts`: write each service's AsyncAPI 3.0 document and each event's JSON Schema to docs/.

The generated files are committed; a test fails when they are out of date with the code.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from zhongshi_contracts.catalog import EVENT_TYPES

from zhongshi.compat import breaking_changes
from zhongshi.launcher import SERVICES

DOCS = Path(__file__).resolve().parents[2] / "docs"

def asyncapi(service: str) -> dict[str, Any]:
    """The service's AsyncAPI document, as its /asyncapi.json serves it, without deployment servers."""
    settings = getattr(importlib.import_module(f"zhongshi_{service}.settings"), f"{service.capitalize()}Settings")
    # Only the document is built (nothing connects): development, so no deployment's secrets are needed.
    app = importlib.import_module(f"zhongshi_{service}.app").create_app(settings(environment="development"))
    document: dict[str, Any] = app.state.kit.asyncapi()
    document.pop("servers", None)
    for channel in document.get("channels", {}).values():
        channel.pop("servers", None)
    return document


def event_schemas() -> dict[str, dict[str, Any]]:
    return {model.topic.ce_type(): model.model_json_schema() for model in EVENT_TYPES}


def render(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def generated() -> dict[Path, str]:
    files = {DOCS / "asyncapi" / f"{s}.json": render(asyncapi(s)) for s in SERVICES}
    files |= {DOCS / "schemas" / f"{t}.json": render(schema) for t, schema in event_schemas().items()}
    return files


def main() -> int:
    files = generated()
    refused = {
        path: problems for path, text in files.items()
        if path.parent.name == "schemas" and path.exists()
        and (problems := breaking_changes(json.loads(path.read_text(encoding="utf-8")), json.loads(text)))
    }
    for path, problems in refused.items():
        print(f"breaking change to {path.name} (publish a .v2 type instead): {'; '.join(problems)}")
    if refused:
        return 1
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
