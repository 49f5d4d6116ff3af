"""Message templates, kept as files: ``templates/<event-type>.<audience>.<channel>.txt``.

Inbox and e-mail templates put the title (subject) on the first line and the body after a blank line;
SMS templates are the text alone. Placeholders are ``${name}`` (`string.Template`); a placeholder the
notice does not fill is an error (`KeyError`), never a message with a hole in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from importlib.abc import Traversable
from string import Template

from zhongshi_notify.planning import HUMAN_CHANNELS, Channel, Rendered

SUFFIX = ".txt"


class Templates:
    """Every template, loaded once at start."""

    def __init__(self, texts: Mapping[tuple[str, Channel], str]) -> None:
        self._templates = {key: Template(text.strip()) for key, text in texts.items()}

    @classmethod
    def load(cls, directory: Traversable | None = None) -> Templates:
        folder = directory or resources.files("zhongshi_notify").joinpath("templates")
        texts: dict[tuple[str, Channel], str] = {}
        for entry in folder.iterdir():
            if entry.name.endswith(SUFFIX):
                kind, channel = entry.name.removesuffix(SUFFIX).rsplit(".", 1)
                texts[(kind, Channel(channel))] = entry.read_text(encoding="utf-8")
        return cls(texts)

    @property
    def keys(self) -> set[tuple[str, Channel]]:
        return set(self._templates)

    def placeholders(self, kind: str, channel: Channel) -> set[str]:
        return {name for _, named, braced, _ in self._templates[(kind, channel)].pattern.findall(
            self._templates[(kind, channel)].template) for name in (named, braced) if name}

    def render(self, kind: str, channel: Channel, facts: Mapping[str, str]) -> Rendered:
        """The title and body (SMS: the text as body) of ``kind`` on ``channel``; KeyError for a missing fact."""
        if channel not in HUMAN_CHANNELS:
            raise ValueError(f"{channel} messages are not rendered from templates")
        text = self._templates[(kind, channel)].substitute(facts)
        if channel is Channel.SMS:
            return Rendered("", " ".join(text.split()))
        title, _, body = text.partition("\n")
        return Rendered(title.strip(), body.strip())
