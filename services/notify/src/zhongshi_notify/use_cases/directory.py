"""The inbox, channel preferences and the officials' notice directory."""

from __future__ import annotations

from zhongshi_runtime.audit import Audit
from zhongshi_runtime.errors import NotFound
from zhongshi_runtime.outbox import Session

from zhongshi_notify.planning import Contact, Preferences
from zhongshi_notify.use_cases import Notify, audited


async def mark_read(notify: Notify, message_id: str, reader: str, audit: Audit) -> None:
    """Mark one of the reader's messages read; another reader's message is not found."""
    async def change(session: Session) -> None:
        if not await notify.repo.mark_read(message_id, reader, session):
            raise NotFound("消息不存在")

    await audited(notify.uow, audit, change)


async def set_preferences(notify: Notify, reader: str, preferences: Preferences, audit: Audit) -> None:
    audit.outcome = "、".join(sorted(c for c, on in preferences.model_dump().items() if on is True))
    await audited(notify.uow, audit, lambda session: notify.repo.set_preferences(reader, preferences, session))


async def set_contact(notify: Notify, scope: str, contact: Contact, audit: Audit) -> None:
    await audited(notify.uow, audit, lambda session: notify.repo.set_directory_entry(scope, contact, session))


async def contact(notify: Notify, scope: str) -> Contact:
    found = await notify.repo.directory_entry(scope)
    if found is None:
        raise NotFound(f"{scope} 尚未登记通知地址")
    return found
