"""One-time codes for objectors: notify sends the code on its own channel, keeps only its hash, and trades
a right code (once, within a few attempts) for a proof the registry can verify; it is rate limited."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from zhongshi_notify import api_verification
from zhongshi_notify.planning import Channel, Delivery, SendResult, Subscription
from zhongshi_notify.verification_service import MAX_ATTEMPTS, Challenge, Verifier
from zhongshi_runtime import contact_proof
from zhongshi_runtime.outbox import UnitOfWork
from zhongshi_runtime.store import MemoryStore, MongoStore, Store
from zhongshi_runtime.testing import InMemoryUnitOfWork, api_app, mongo_unit_of_work

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
PATH = "/api/v1/public/contact-verifications"


class FakeSms:
    def __init__(self) -> None:
        self.sent: list[Delivery] = []

    async def send(self, delivery: Delivery, subscription: Subscription | None) -> SendResult:
        self.sent.append(delivery)
        return SendResult(ok=True, status_code=200)

    def code(self) -> str:
        code: str = re.findall(r"\d{6}", self.sent[-1].body)[0]
        return code


class World:
    def __init__(self, http: httpx.AsyncClient, sms: FakeSms, store: Any, uow: Any, keys: Path) -> None:
        self.http, self.sms, self.store, self.uow, self.keys = http, sms, store, uow, keys


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with world_on(tmp_path, MemoryStore[Challenge](), InMemoryUnitOfWork()) as world:
        yield world


@contextlib.asynccontextmanager
async def world_on(tmp_path: Path, store: Store[Challenge], uow: UnitOfWork) -> AsyncIterator[World]:
    key = contact_proof.load_private_key(tmp_path / "proof.pem", create=True)
    sms = FakeSms()
    app = api_app(tmp_path, api_verification.router)
    app.state.verifier = Verifier.of(store, {Channel.SMS: sms}, lambda: key, uow=uow, clock=lambda: NOW,
                                     per_client_hour=6, per_contact_hour=3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield World(http, sms, store, uow, tmp_path)


async def test_a_right_code_earns_a_proof_once_and_the_code_is_kept_nowhere(world: World) -> None:
    r = await world.http.post(PATH, json={"channel": "sms", "address": "139-0000-1111"})
    assert r.status_code == 202 and r.json()["sent_to"] == "139****1111"
    verification, code = r.json()["id"], world.sms.code()
    assert world.sms.sent[-1].address == "13900001111"
    stored = (await world.store.get(verification)).model_dump_json()
    recorded = [a.model_dump_json() for a in world.uow.audit]
    assert code not in stored and not [t for t in recorded if code in t or "13900001111" in t]
    wrong = "000000" if code != "000000" else "111111"
    r = await world.http.post(f"{PATH}/{verification}/confirm", json={"code": wrong})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "code"]
    r = await world.http.post(f"{PATH}/{verification}/confirm", json={"code": code})
    assert r.status_code == 200 and r.json()["header"] == contact_proof.HEADER
    public = contact_proof.load_public_key(world.keys / "proof.pub")
    claims = contact_proof.verify(public, r.json()["proof"])
    assert claims["sub"] == contact_proof.contact_digest("139 0000 1111") and claims["jti"] == verification
    again = await world.http.post(f"{PATH}/{verification}/confirm", json={"code": code})
    assert again.status_code == 409  # one time only
    assert [a.action for a in world.uow.audit] == ["contact.verification.send", *["contact.verification.confirm"] * 2]


async def test_guessing_is_cut_off_after_five_wrong_codes(world: World) -> None:
    verification = (await world.http.post(PATH, json={"channel": "sms", "address": "13900002222"})).json()["id"]
    code = world.sms.code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(MAX_ATTEMPTS):
        await world.http.post(f"{PATH}/{verification}/confirm", json={"code": wrong})
    r = await world.http.post(f"{PATH}/{verification}/confirm", json={"code": code})
    assert r.status_code == 409 and "次数过多" in r.json()["detail"]


@pytest.mark.integration
async def test_wrong_codes_sent_at_once_are_each_counted(tmp_path: Path, mongo_db: Any) -> None:
    """A guesser sending many codes at once gets no more than five tries: each reads the count another wrote."""
    store = MongoStore(mongo_db, "challenges", Challenge)
    async with world_on(tmp_path, store, mongo_unit_of_work(mongo_db, "notify")) as world:
        verification = (await world.http.post(PATH, json={"channel": "sms", "address": "13900003333"})).json()["id"]
        wrong = "000000" if world.sms.code() != "000000" else "111111"
        tries = [world.http.post(f"{PATH}/{verification}/confirm", json={"code": wrong}) for _ in range(12)]
        answers = Counter(r.status_code for r in await asyncio.gather(*tries))
        assert answers == {422: MAX_ATTEMPTS, 409: 12 - MAX_ATTEMPTS}
        assert (await store.get(verification)).attempts == MAX_ATTEMPTS


async def test_codes_are_rate_limited_per_contact_and_per_client_and_addresses_are_checked(world: World) -> None:
    codes = [(await world.http.post(PATH, json={"channel": "sms", "address": "13900003333"})).status_code
             for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    r = await world.http.post(PATH, json={"channel": "sms", "address": "13900004444"})
    assert r.status_code == 202
    r = await world.http.post(PATH, json={"channel": "sms", "address": "13900005555"})
    assert r.status_code == 202
    r = await world.http.post(PATH, json={"channel": "sms", "address": "13900006666"})  # the client's seventh
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert len(world.sms.sent) == 5


async def test_a_bad_address_or_a_channel_not_switched_on_is_refused(world: World) -> None:
    r = await world.http.post(PATH, json={"channel": "sms", "address": "12345"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "address"]
    r = await world.http.post(PATH, json={"channel": "email", "address": "wang@example.cn"})
    assert r.status_code == 409 and "邮件通道未开通" in r.json()["detail"]
    assert world.sms.sent == [] and world.uow.audit == []


async def test_without_a_signing_key_no_code_is_sent_and_the_caller_is_told_to_log_in(tmp_path: Path) -> None:
    def missing() -> Ed25519PrivateKey:
        raise FileNotFoundError("contact proof key is missing")

    sms = FakeSms()
    app = api_app(tmp_path, api_verification.router)
    app.state.verifier = Verifier.of(MemoryStore(), {Channel.SMS: sms}, missing, uow=InMemoryUnitOfWork(),
                                     clock=lambda: NOW, per_client_hour=6, per_contact_hour=3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        r = await http.post(PATH, json={"channel": "sms", "address": "13900008888"})
    assert r.status_code == 503 and "登录" in r.json()["detail"] and sms.sent == []
