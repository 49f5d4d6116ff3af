"""Plug-ins are installed by name from ZHONGSHI_PLUGINS; production wiring names none and mentions none."""

from __future__ import annotations

from pathlib import Path

import pytest
from zhongshi_runtime.plugins import Plugin, Plugins
from zhongshi_runtime.settings import ServiceSettings

RUNTIME = Path(__file__).resolve().parents[1] / "src" / "zhongshi_runtime"
SERVICES = Path(__file__).resolve().parents[3] / "services"


class Counting(Plugin):
    def __init__(self, settings: ServiceSettings) -> None:
        self.service = settings.service_name


def test_by_default_no_plugin_is_installed() -> None:
    assert Plugins.from_settings(ServiceSettings()).installed == ()


def test_plugins_are_built_by_their_factories_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHONGSHI_PLUGINS", f"{__name__}:Counting, {__name__}:Counting")
    installed = Plugins.from_settings(ServiceSettings()).installed
    assert [type(p) for p in installed] == [Counting, Counting]


def test_a_name_without_its_factory_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHONGSHI_PLUGINS", "zhongshi.plugins.tansu")
    with pytest.raises(ValueError, match="module:factory"):
        Plugins.from_settings(ServiceSettings())


def test_the_production_wiring_mentions_no_fault_hook_nor_broker_workaround() -> None:
    sources = [*RUNTIME.glob("*.py"), *SERVICES.glob("*/src/*/app.py")]
    for forbidden in ("os._exit", "Faults", "FAULTS_FILE", "epoch", "replaced by an empty one", "zhongshi.plugins"):
        found = [p.name for p in sources if forbidden in p.read_text()]
        assert found == [], f"{forbidden!r} in {found}"
