"""One round of applications through every stage — submit, screening, the county/city/province chain, expert
review and the decision, publicity and the registry — driven by the sample round's simulated officials and
experts (`zhongshi.demo_*`). Faults make any request fail, so each stage repeats its pass (the drivers are
idempotent: a rerun finds nothing left to do) until the services show the stage done."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
from pymongo.database import Database
from zhongshi_contracts.credit_code import make_credit_code
from zhongshi_contracts.reference import hubei_cities
from zhongshi_runtime.auth import Role
from zhongshi_runtime.clock import shanghai_date, utc_now

from zhongshi import demo
from zhongshi.demo_data import APPLICANTS
from zhongshi.demo_officials import Officials
from zhongshi.demo_registry import run_publicity
from zhongshi.demo_review import run_review
from zhongshi.launcher import Stack, service_databases
from zhongshi.polling import wait_until

STAGES = ("submit", "screening", "chain", "review", "publicity", "settle", "done")
CHAIN_DONE = {"returned", "rejected", "declined", "expert_review", "proposed_accreditation",
              "proposed_cultivation", "review_declined"}
DECIDED = {"proposed_accreditation", "proposed_cultivation", "review_declined"}


def applicant_code(sample: str, name: str) -> str:
    """The applicant ``name`` of a round, like ``sample`` (same kind of legal person and county): rounds never
    share an applicant, and a repeated submission is the same applicant's (its Idempotency-Key holds)."""
    return make_credit_code(sample[:8] + hashlib.sha256(name.encode()).hexdigest()[:9].upper())


class NotYet(Exception):
    """A stage's precondition is not met yet (a downstream service has not caught up)."""


class RoundOfficials(Officials):
    """The sample round's officials, with quotas large enough that every recommendation is forwarded; the
    counties without an applicant in the round have nothing in their queues, so they are not asked."""

    def __init__(self, stack: Stack, http: httpx.Client, round_id: str, quota: int, rows: Iterable[int]) -> None:
        super().__init__(stack, http, round_id)
        self.quota = quota
        self.counties = {APPLICANTS[row % len(APPLICANTS)][0] for row in rows}

    def queue(self, level: str, role: Role, scope: str) -> list[dict[str, Any]]:
        if level == "county" and scope not in self.counties:
            return []
        return super().queue(level, role, scope)

    def set_round(self) -> None:
        today = shanghai_date(utc_now())
        settings = {"round_id": self.round_id, "quotas": dict.fromkeys(hubei_cities(), self.quota),
                    "deadlines": {"county_review": str(today + timedelta(days=10)),
                                  "city_review": str(today + timedelta(days=20)),
                                  "exception_review": str(today + timedelta(days=30))}}
        r = self.http.put(f"{self.screening}/rounds/{self.round_id}/settings", json=settings,
                          headers=self.auth(Role.PROVINCE_OFFICIAL, "42"))
        r.raise_for_status()


class RoundFlow:
    """Drives one round; ``stage`` says where it is (fault plans wait for a stage)."""

    def __init__(self, stack: Stack, round_id: str, size: int, rate: float, log: Callable[[str], None],
                 stage_timeout: float = 300, busy: Callable[[], bool] = lambda: False) -> None:
        self.stack, self.round_id, self.size, self.rate, self.log = stack, round_id, size, rate, log
        self.stage_timeout, self.busy = stage_timeout, busy
        self.stage = "submit"
        self.rows: dict[str, int] = {}  # acknowledged application id → its number i (sample applicant i % 36)
        self.publicity_note = ""
        self.submit_seconds = 0.0
        self._scheduled = False
        self.pause = max(0.3, size / 200)  # between polls: a large round is polled less often
        self._lock = threading.Lock()
        self.db: dict[str, Database[Any]] = {}  # each service's, while the round runs
        self.province = {"Authorization": f"Bearer {stack.token(Role.PROVINCE_OFFICIAL, '42')}"}

    # ---- the whole round ----
    def run(self) -> None:
        # One client each for the whole round (a database's reconnects by itself after a restart).
        with httpx.Client(timeout=30) as http, service_databases(self.stack.database_uris) as self.db:
            self.http = http
            try:
                self._step("submit", self.submit_all, lambda: len(self.rows) == self.size)
                self._step("screening", lambda: None, lambda: self._all_in(lambda s: s not in ("draft", "submitted")))
                officials = RoundOfficials(self.stack, http, self.round_id, quota=self.size, rows=self.rows.values())
                self._step("chain", lambda: self._chain_pass(officials),
                           lambda: self._all_in(CHAIN_DONE.__contains__))
                self._step("review", self._review_pass, self._reviewed)
                self._step("publicity", self._publicity_pass, self._published)
            finally:
                self.stage = "settle"  # also when a stage timed out: the faults still planned fire now

    def _step(self, stage: str, action: Callable[[], None], done: Callable[[], bool], patience: float = 20) -> None:
        """Run ``action``, then wait up to ``patience`` seconds for ``done()``; repeat the (idempotent) action
        when it failed under a fault or the stage is still not done. Past ``stage_timeout`` the stage gives up
        only once the stack has settled (nothing left to catch up), or at twice that time."""
        self.stage = stage
        began, last = time.monotonic(), ""
        deadline, latest = began + self.stage_timeout, began + 2 * self.stage_timeout
        while time.monotonic() < deadline or (time.monotonic() < latest and self.busy()):
            try:
                action()
                last = self._wait(done, min(max(deadline, time.monotonic() + 1), time.monotonic() + patience))
                if not last:
                    self.log(f"{self.round_id}: {stage} done in {time.monotonic() - began:.1f}s")
                    return
            except NotYet as exc:
                last = str(exc)
                time.sleep(self.pause)  # before the pass is repeated, not a synchronisation: done() decides
            except Exception as exc:  # a fault hit a request: the pass is repeated
                why = f"{type(exc).__name__}: {exc}"[:300]
                if why != last:
                    self.log(f"{self.round_id}: {stage} pass failed ({why}); repeating")
                last = why
                time.sleep(0.5)  # likewise: a pause before the repeated pass
        raise AssertionError(f"{self.round_id}: stage {stage} not done within "
                             f"{time.monotonic() - began:.0f}s: {last}")

    def _wait(self, done: Callable[[], bool], until: float) -> str:
        """Poll ``done`` until it holds (returns "") or ``until``; returns why it did not. Polls of a large
        round are spaced out: each reads every application, and the services have work to do."""
        why = ["not done"]

        def check() -> bool:
            try:
                return done()
            except Exception as exc:
                why[0] = f"{type(exc).__name__}: {exc}"[:300]
                return False

        try:
            wait_until(check, "stage done", max(0.0, until - time.monotonic()), interval=self.pause)
        except TimeoutError:
            return why[0]
        return ""

    # ---- submit ----
    def submit_all(self) -> None:
        """Create and submit the applications at ``rate`` per second, 8 at a time; acknowledged ones count."""
        todo = [i for i in range(self.size) if i not in self.rows.values()]
        if not self.rows:
            r = self.http.post(f"{self.stack.url('intake')}/api/v1/rounds", headers=self.province,
                               json={**demo.demo_round(shanghai_date(utc_now())), "id": self.round_id,
                                     "title": f"故障测试批次 {self.round_id}"})
            if r.status_code not in (201, 409):
                r.raise_for_status()
        began = time.monotonic()
        with httpx.Client(timeout=30) as http, ThreadPoolExecutor(8) as pool:  # the pool finishes first
            for k, i in enumerate(todo):
                pause = began + k / self.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                pool.submit(self._submit_one, http, i)
        self.submit_seconds += time.monotonic() - began

    def _submit_one(self, http: httpx.Client, i: int) -> None:
        today = shanghai_date(utc_now())
        row = i % len(APPLICANTS)
        body = demo.dossier(row, APPLICANTS[row], today)
        code = applicant_code(body["applicant"]["credit_code"], f"{self.round_id}/{i}")
        body["applicant"]["credit_code"] = code
        me = {"Authorization": f"Bearer {self.stack.token(Role.APPLICANT, code)}"}
        intake = f"{self.stack.url('intake')}/api/v1/applications"
        last: Exception | None = None
        for _ in range(120):
            try:
                app = http.post(intake, json={"round_id": self.round_id, "dossier": body},
                                headers={**me, "Idempotency-Key": f"{self.round_id}-{i}"})
                app.raise_for_status()
                app_id = app.json()["id"]
                if app.json()["status"] == "draft":  # the round's required kinds, and the documents C9 rests on
                    demo.upload_materials(http, f"{intake}/{app_id}", me, body, app.json()["materials"])
                    r = http.post(f"{intake}/{app_id}/submit", headers=me)
                    if r.status_code != 409:
                        r.raise_for_status()
                if http.get(f"{intake}/{app_id}", headers=me).json()["status"] != "draft":
                    with self._lock:
                        self.rows[app_id] = i
                    return
            except (httpx.HTTPError, KeyError, ValueError) as exc:  # a fault: the Idempotency-Key makes a repeat safe
                last = exc
            time.sleep(0.5)
        self.log(f"{self.round_id}: application {i} not acknowledged: {last!r}")

    # ---- what intake shows ----
    def statuses(self) -> dict[str, str]:
        """Each application's status, from intake's database: asking its API for a large round every few
        seconds would take a good share of the capacity the round itself needs."""
        found = self.db["intake"].applications.find({"round_id": self.round_id}, {"status": 1})
        return {a["_id"]: a["status"] for a in found}

    def _all_in(self, accepted: Callable[[str], bool]) -> bool:
        statuses = self.statuses()
        waiting = [a for a in self.rows if not accepted(statuses.get(a, "missing"))]
        if waiting:
            raise NotYet(f"{len(waiting)} applications not there yet, e.g. {waiting[0]}: {statuses.get(waiting[0])}")
        return True

    # ---- the chain ----
    def _chain_pass(self, officials: RoundOfficials) -> None:
        if not self._scheduled:  # quotas and deadlines once (each time would announce the round again)
            officials.set_round()
            self._scheduled = True
        officials.counties_review()
        officials.cities_forward()
        officials.province_decides()

    # ---- review ----
    def in_review(self) -> list[str]:
        statuses = self.statuses()
        return sorted(a for a in self.rows if statuses.get(a) == "expert_review" or statuses.get(a) in DECIDED)

    def _review_pass(self) -> None:
        """Experts review only once review holds every forwarded candidate, ready (its consumer may lag)."""
        expected = self.in_review()
        review = self.db["review"]
        confirmed = review.round_states.find_one({"_id": self.round_id}) is not None
        ready = {c["_id"] for c in review.candidates.find(
            {"round_id": self.round_id, "awaiting_exception": False, "withdrawn": False,
             "declined_by_province": False}, {"_id": 1})}
        if not confirmed and not set(expected) <= ready:
            raise NotYet(f"review holds {len(ready & set(expected))} of {len(expected)} candidates ready")
        run_review(self.stack, self.round_id, expected, timeout=1)

    def _reviewed(self) -> bool:
        return self._all_in(lambda s: s in CHAIN_DONE - {"expert_review"})

    # ---- publicity and the registry ----
    def _publicity_pass(self) -> None:
        """Publicity opens once the registry holds every decision; its clock starts at today's date."""
        decided = len(self.in_review())
        held = self.db["registry"].decisions.count_documents({"round_id": self.round_id})
        if held < decided:
            raise NotYet(f"the registry holds {held} of {decided} decisions")
        result = run_publicity(self.stack, self.round_id, opens_on=shanghai_date(utc_now()))
        if "节假日数据尚未覆盖" in str(result.get("note")):
            self.publicity_note = str(result["note"])  # the holiday calendar ends: publicity cannot open

    def _published(self) -> bool:
        if self.publicity_note:
            return True
        shown = self.http.get(f"{self.stack.url('registry')}/api/v1/public/publicity/{self.round_id}")
        if shown.status_code != 200 or not shown.json().get("closed_at"):
            raise NotYet(f"publicity not closed yet ({shown.status_code})")
        return True
