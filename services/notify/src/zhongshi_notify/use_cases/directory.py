"""The inbox, channel preferences and the officials' notice directory."""

from __future__ import annotations

from zhongshi_runtime.audit import Audit
from zhongshi_runtime.errors import NotFound
from zhongshi_runtime.outbox import Session

from zhongshi_notify.planning import Contact, Preferences
from zhongshi_notify.use_cases import Deps, audited


async def mark_read(deps: Deps, message_id: str, reader: str, audit: Audit) -> None:
    """Mark one of the reader's messages read; another reader's message is not found."""
    async def change(session: Session) -> None:
        if not await deps.repo.mark_read(message_id, reader, session):
            raise NotFound("消息不存在")

    await audited(deps.uow, audit, change)


async def set_preferences(deps: Deps, reader: str, preferences: Preferences, audit: Audit) -> None:
    audit.outcome = "、".join(sorted(c for c, on in preferences.model_dump().items() if on is True))
    await audited(deps.uow, audit, lambda session: deps.repo.set_preferences(reader, preferences, session))


async def set_contact(deps: Deps, scope: str, contact: Contact, audit: Audit) -> None:
    await audited(deps.uow, audit, lambda session: deps.repo.set_directory_entry(scope, contact, session))


async def contact(deps: Deps, scope: str) -> Contact:
    found = await deps.repo.directory_entry(scope)
    if found is None:
        raise NotFound(f"{scope} 尚未登记通知地址")
    return found
