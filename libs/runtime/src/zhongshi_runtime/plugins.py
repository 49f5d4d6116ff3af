"""Plug-ins: hooks the runtime calls at fixed points of a service's life. A production deployment installs
none, and every hook does nothing; the embedded launcher and the tests install theirs by name through
``ZHONGSHI_PLUGINS`` (``module:factory``, comma-separated; each factory takes the settings)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from zhongshi_runtime.outbox import OutboxRelay
    from zhongshi_runtime.settings import ServiceSettings


class Rewindable(Protocol):
    """What an assignment hook may do with the consumer: read partitions again from their start."""

    async def seek_to_beginning(self, *partitions: Any) -> None: ...


class Plugin:
    """One plug-in's hooks; each default does nothing, so a plug-in overrides only the ones it needs."""

    def broker_options(self) -> dict[str, Any]:
        """Options merged into the service's KafkaBroker (a broker that lacks a feature turns it off)."""
        return {}

    async def relay_tick(self, relay: OutboxRelay) -> bool:
        """Called when the outbox relay starts and before each of its batches; False holds the batch back."""
        return True

    async def partitions_assigned(self, consumer: Callable[[], Rewindable], assigned: set[Any]) -> None:
        """Called when the consumer group assigns partitions to this process."""

    def before_handle(self, subject: str) -> None:
        """Called before a handler runs on an event about ``subject``; raising fails that attempt."""

    async def before_commit(self) -> None:
        """Called inside every unit of work's transaction, just before it commits."""

    def after_consumed_commit(self) -> None:
        """Called after a consumed event's transaction committed, before its offset is acknowledged."""

    async def close(self) -> None:
        """Called when the service stops."""


class Plugins(Plugin):
    """The installed plug-ins, called in order; with none installed it is the do-nothing `Plugin`."""

    def __init__(self, installed: Sequence[Plugin] = ()) -> None:
        self.installed = tuple(installed)

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Plugins:
        """The plug-ins ``settings.plugins`` names, each built by its factory from the settings."""
        return cls([_factory(spec)(settings) for spec in settings.plugins.split(",") if spec.strip()])

    def broker_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for plugin in self.installed:
            options.update(plugin.broker_options())
        return options

    async def relay_tick(self, relay: OutboxRelay) -> bool:
        return all([await plugin.relay_tick(relay) for plugin in self.installed])

    async def partitions_assigned(self, consumer: Callable[[], Rewindable], assigned: set[Any]) -> None:
        for plugin in self.installed:
            await plugin.partitions_assigned(consumer, assigned)

    def before_handle(self, subject: str) -> None:
        for plugin in self.installed:
            plugin.before_handle(subject)

    async def before_commit(self) -> None:
        for plugin in self.installed:
            await plugin.before_commit()

    def after_consumed_commit(self) -> None:
        for plugin in self.installed:
            plugin.after_consumed_commit()

    async def close(self) -> None:
        for plugin in self.installed:
            await plugin.close()


def _factory(spec: str) -> Callable[[ServiceSettings], Plugin]:
    module, _, name = spec.strip().partition(":")
    if not module or not name:
        raise ValueError(f"ZHONGSHI_PLUGINS: {spec!r} is not module:factory")
    factory: Callable[[ServiceSettings], Plugin] = getattr(importlib.import_module(module), name)
    return factory
