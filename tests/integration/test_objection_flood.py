"""An objection flood against the real registry (its own process, the real database), from loopback only
and with a bounded number of requests: anonymous filings are refused, one client is cut off with 429 and
Retry-After, one person cannot hold up the round with more than a few pending objections, others still get
through, and the province clears the pending ones in one bulk resolution."""

from __future__ import annotations

import email
import email.policy
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from zhongshi_contracts.registry import PublicityItem
from zhongshi_contracts.review import Decision
from zhongshi_registry.domain import Publicity
from zhongshi_registry.repository import RegistryRepository
from zhongshi_registry.settings import RegistrySettings
from zhongshi_runtime.auth import Role

from zhongshi.launcher import Stack, StackConfig
from zhongshi.polling import eventually

pytestmark = pytest.mark.integration
DEFAULTS = RegistrySettings()  # the limits the stack runs with: nothing is set for this test
GROUNDS = "该平台申报的服务收入与实际不符，请予核实。"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: these tests put a publicity straight into the registry's database, which no event
    carries, and the shared stack's registry must stay rebuildable from its events (the replay test)."""
    own = Stack(StackConfig.isolated(tmp_path_factory.mktemp("flood")))
    try:
        own.start()
        yield own
    finally:
        own.stop()


async def open_publicity(stack: Stack, round_id: str, today: date) -> None:
    """A publicity whose window covers the registry's today (written as the registry would store it)."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(stack.database_uri("registry"), tz_aware=True)
    item = PublicityItem(application_id=f"{round_id}-A", platform_name="洪流测试平台", applicant_name="洪流测试单位",
                         city_code="420100", region_code="420111", decision=Decision.ACCREDIT)
    publicity = Publicity(round_id=round_id, working_days=5, starts_on=today - timedelta(days=1),
                          ends_on=today + timedelta(days=14), opened_at=datetime.now(UTC), items=[item])
    await RegistryRepository.mongo(client[DEFAULTS.database]).save_publicity(publicity)
    await client.close()


def from_address(address: str) -> httpx.AsyncClient:
    """A client whose requests come from ``address`` (any 127.x.y.z is loopback): one flooding client."""
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=address), timeout=30)


async def test_an_objection_flood_is_refused_and_the_round_stays_closable(stack: Stack) -> None:
    registry = stack.url("registry") + "/api/v1"
    province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
    round_id, octet = f"R-FLOOD-{uuid.uuid4().hex[:8]}", uuid.uuid4().int % 200 + 20
    async with httpx.AsyncClient(timeout=30) as http:
        today = date.fromisoformat((await http.get(f"{registry}/dev/clock", headers=province)).json()["today"])
    await open_publicity(stack, round_id, today)
    body = {"application_id": f"{round_id}-A", "name": "李四", "contact": "13900003333", "grounds": GROUNDS}
    url = f"{registry}/publicity/{round_id}/objections"

    async with from_address(f"127.0.{octet}.1") as anonymous:  # bounded: the limit and ten more
        codes = [(await anonymous.post(url, json=body)).status_code
                 for _ in range(DEFAULTS.objections_per_client_hour + 10)]
        assert codes == [401] * DEFAULTS.objections_per_client_hour + [429] * 10
        refused = await anonymous.post(url, json=body)
        assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 3600
        assert "频繁" in refused.json()["detail"]

    person = {"Authorization": f"Bearer {stack.token(Role.APPLICANT, '91420100MA4KFLOOD1', 'flooder')}"}
    async with from_address(f"127.0.{octet}.2") as flooder:
        cap = DEFAULTS.objections_pending_per_objector
        codes = [(await flooder.post(url, json=body, headers=person)).status_code for _ in range(cap + 5)]
        assert codes == [201] * cap + [429] * 5

    other = {"Authorization": f"Bearer {stack.token(Role.APPLICANT, '91420100MA4KFLOOD2', 'bystander')}"}
    async with from_address(f"127.0.{octet}.3") as bystander:  # someone else is not held up by the flood
        assert (await bystander.post(url, json=body, headers=other)).status_code == 201

    async with httpx.AsyncClient(timeout=30) as http:
        shown = (await http.get(f"{registry}/public/publicity/{round_id}", params={"limit": 2})).json()
        assert shown["objections_total"] == cap + 1 and len(shown["objections"]) == 2
        assert "李四" not in str(shown) and "13900003333" not in str(shown)
        pending = (await http.get(f"{registry}/rounds/{round_id}/objections", headers=province)).json()
        bulk = {"objection_ids": [o["id"] for o in pending], "upheld": False,
                "reason": "经核查，均为重复提交的无依据异议"}
        r = await http.post(f"{registry}/rounds/{round_id}/objections/resolve", json=bulk, headers=province)
        assert r.status_code == 200 and r.json()["resolved"] == cap + 1
        left = (await http.get(f"{registry}/rounds/{round_id}/objections", headers=province)).json()
        assert {o["status"] for o in left} == {"dismissed"}


def code_in_mailbox(stack: Stack, verification_sent_after: float) -> str | None:
    """The six-digit code of the newest verification e-mail delivered to the local maildir since a moment."""
    for path in sorted((stack.mailbox / "new").glob("*"), key=lambda p: p.stat().st_mtime, reverse=True):
        if path.stat().st_mtime < verification_sent_after:
            break
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(("plain",))
        found = re.search(r"验证码为 (\d{6})", body.get_content() if body else "")
        if found:
            return found.group(1)
    return None


async def test_an_objector_without_a_login_proves_an_e_mail_with_notify_s_code(stack: Stack) -> None:
    registry, notify = stack.url("registry") + "/api/v1", stack.url("notify") + "/api/v1"
    province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}
    round_id, address = f"R-OTP-{uuid.uuid4().hex[:8]}", f"objector-{uuid.uuid4().hex[:6]}@example.cn"
    async with httpx.AsyncClient(timeout=30) as http:
        today = date.fromisoformat((await http.get(f"{registry}/dev/clock", headers=province)).json()["today"])
        await open_publicity(stack, round_id, today)
        started = time.time() - 1
        r = await http.post(f"{notify}/public/contact-verifications", json={"channel": "email", "address": address})
        assert r.status_code == 202, r.text
        verification = r.json()["id"]

        async def delivered() -> str | None:
            return code_in_mailbox(stack, started)

        code = await eventually(delivered, what="the code in the local mailbox")
        r = await http.post(f"{notify}/public/contact-verifications/{verification}/confirm", json={"code": code})
        assert r.status_code == 200, r.text
        proof = {r.json()["header"]: r.json()["proof"]}
        body = {"application_id": f"{round_id}-A", "name": "赵六", "contact": address, "grounds": GROUNDS}
        r = await http.post(f"{registry}/publicity/{round_id}/objections", json=body, headers=proof)
        assert r.status_code == 201, r.text
        other = await http.post(f"{registry}/publicity/{round_id}/objections", headers=proof,
                                json={**body, "contact": "someone-else@example.cn"})
        assert other.status_code == 422
    for service in ("notify", "registry"):  # the code's message is in the recipient's mailbox only, never logged
        assert "验证码为" not in stack.log(service).read_text(encoding="utf-8", errors="replace")
