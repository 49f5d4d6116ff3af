"""The notify service factory. E-mail, SMS, webhooks and reminders land with their own issue; today
the service keeps each applicant's in-app inbox (站内信) for the intake and screening steps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from zhongshi_contracts.envelope import CloudEvent
from zhongshi_contracts.events import (
    ApplicationScreened,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    Event,
    ScreeningOutcome,
)
from zhongshi_runtime.auth import Principal, current_principal
from zhongshi_runtime.outbox import Consumed, Session
from zhongshi_runtime.service import ServiceKit

from zhongshi_notify.settings import NotifySettings

OUTCOME_TEXT = {
    ScreeningOutcome.ELIGIBLE: "已通过形式审查，进入县级初审。",
    ScreeningOutcome.NEEDS_EXCEPTION: "已通过形式审查，部分“原则上”条件待省经信厅认定，进入县级初审。",
    ScreeningOutcome.INELIGIBLE: "未通过形式审查（不符合：{failing}），已退回修改，请在申报期内修改后重新提交。",
}


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    kit = ServiceKit(settings, title="zhongshi notify",
                     description="Who is told what, on which channel: inbox, e-mail, SMS, signed webhooks.")

    async def deliver(meta: CloudEvent, event: Event, recipient: str, title: str, body: str) -> None:
        async def work(session: Session) -> list[Event]:
            await kit.db.inbox.update_one(
                {"_id": f"{meta.id}/{recipient}/inbox"},
                {"$setOnInsert": {"recipient": recipient, "title": title, "body": body, "read": False,
                                  "application_id": event.application_id, "event_type": meta.type,
                                  "created_at": datetime.now(UTC)}},
                upsert=True, session=session,
            )
            return []

        await kit.uow.run(work, consumed=Consumed("notify.inbox", meta, event.topic.name))

    @kit.consumers.on(ApplicationSubmitted)
    async def on_submitted(event: ApplicationSubmitted, meta: CloudEvent) -> None:
        name = event.dossier.platform.name
        await deliver(meta, event, event.dossier.applicant.credit_code, f"已收到“{name}”的申报",
                      f"您的申报（编号{event.application_id}，第{event.revision}次提交）已收到，正在进行形式审查。")

    @kit.consumers.on(ApplicationScreened)
    async def on_screened(event: ApplicationScreened, meta: CloudEvent) -> None:
        text = OUTCOME_TEXT[event.outcome].format(failing="、".join(event.failing))
        await deliver(meta, event, event.applicant_credit_code, f"“{event.platform_name}”形式审查结果",
                      f"您的申报（编号{event.application_id}）{text}")

    @kit.consumers.on(ApplicationWithdrawn)
    async def on_withdrawn(event: ApplicationWithdrawn, meta: CloudEvent) -> None:
        await deliver(meta, event, event.applicant_credit_code, "申报已撤回",
                      f"您的申报（编号{event.application_id}）已撤回。")

    inbox = APIRouter(prefix="/api/v1/inbox", tags=["inbox"])

    @inbox.get("", summary="My messages, newest first, with the unread count")
    async def messages(
        principal: Annotated[Principal, Depends(current_principal)],
        offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        mine = {"recipient": principal.scope}
        cursor = kit.db.inbox.find(mine).sort([("created_at", -1), ("_id", 1)]).skip(offset).limit(limit)
        items = [{"id": d.pop("_id"), **{k: v for k, v in d.items() if k != "recipient"}} async for d in cursor]
        unread = await kit.db.inbox.count_documents({**mine, "read": False})
        return {"unread": unread, "items": items}

    @inbox.post("/{message_id:path}/read", summary="Mark a message read")
    async def mark_read(
        message_id: str, principal: Annotated[Principal, Depends(current_principal)]
    ) -> dict[str, bool]:
        mine = {"_id": message_id, "recipient": principal.scope}
        result = await kit.db.inbox.update_one(mine, {"$set": {"read": True}})
        if result.matched_count == 0:
            raise HTTPException(404, "消息不存在")
        return {"read": True}

    async def indexes() -> None:
        await kit.db.inbox.create_index([("recipient", 1), ("created_at", -1)])
        await kit.db.inbox.create_index([("application_id", 1)])

    kit.on_startup(indexes)
    return kit.asgi([inbox])
