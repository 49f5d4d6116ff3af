"""One scenario: a round through every stage with faults fired at seeded points of it, then the invariant
judged once the stack has settled (`quiescence`), and the figures: lost / late / duplicated / redelivered /
dead-lettered. "Late" arrived after the nominal wait but before the stack settled; "lost" never arrived by the
deadline. Only lost, duplicated and out-of-order fail a scenario."""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.faults.chaos import Chaos
from tests.faults.flow import STAGES, RoundFlow
from tests.faults.invariant import Findings, Invariant
from tests.faults.quiescence import Quiescence
from zhongshi.polling import wait_until

APPS = int(os.environ.get("ZHONGSHI_FAULT_APPS", "12"))
RATE = float(os.environ.get("ZHONGSHI_FAULT_RATE", "50"))
SEED = int(os.environ.get("ZHONGSHI_FAULT_SEED", "20261127"))
RESULTS = os.environ.get("ZHONGSHI_FAULT_RESULTS", "")
NOMINAL_S = float(os.environ.get("ZHONGSHI_FAULT_NOMINAL_S", "60"))  # what a quiet machine needs after a round
DEADLINE_S = float(os.environ.get("ZHONGSHI_FAULT_DEADLINE_S", "600"))  # the most a round may take to settle
STABLE_S = 30.0  # settled this long while a step is still missing: it is lost, no need to wait for the deadline
FAULT_STAGES = ("submit", "screening", "chain", "review", "publicity")


@dataclass(frozen=True)
class Fault:
    """``action`` fires ``delay`` seconds after the round reaches ``stage``; it heals what it breaks."""

    stage: str
    delay: float
    label: str
    action: Callable[[], None]


def seeded_points(rng: random.Random, count: int, stages: tuple[str, ...] = FAULT_STAGES) -> list[tuple[str, float]]:
    """``count`` random points of a round: a stage and a delay into it, in the order the round reaches them."""
    points = [(rng.choice(stages), round(rng.uniform(0.2, 3.0), 2)) for _ in range(count)]
    return sorted(points, key=lambda p: (STAGES.index(p[0]), p[1]))


@dataclass
class Report:
    scenario: str
    applications: int = 0
    submitted_per_s: float = 0
    seconds: float = 0
    lost: int = 0
    late: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    redelivered: int = 0
    dead_lettered: int = 0
    rebalances: int = 0
    retries: int = 0
    replays: int = 0
    resent: int = 0
    faults: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    note: str = ""
    settled_s: float = 0  # from the end of the round's flow until it was judged
    judged: str = ""  # "settled", or "deadline" when the stack never settled in time

    def line(self) -> str:
        return (f"{self.scenario:<34} apps {self.applications:>5}  lost {self.lost:>3}  late {self.late:>3}"
                f"  duplicated {self.duplicated:>3}"
                f"  out-of-order {self.out_of_order:>3}  redelivered {self.redelivered:>5}  dead-lettered"
                f" {self.dead_lettered:>3}  rebalances {self.rebalances:>3}  replays {self.replays:>2}"
                f"  resent {self.resent:>2}  {self.seconds:>6.1f}s")

    def details(self) -> str:
        lines = [self.line(), f"    submitted at {self.submitted_per_s:.1f}/s; {self.retries} handler retries;"
                 f" judged {self.settled_s:.0f}s after the flow ({self.judged})",
                 *(f"    fault: {f}" for f in self.faults), *(f"    PROBLEM {p}" for p in self.problems)]
        return "\n".join(lines + ([f"    note: {self.note}"] if self.note else []))


class Scenario:
    """Runs one round under ``faults`` on the chaos stack and reports."""

    def __init__(self, chaos: Chaos, name: str, *, size: int = APPS, rate: float = RATE) -> None:
        self.chaos, self.name, self.size, self.rate = chaos, name, size, rate
        self.settle_timeout = max(DEADLINE_S, size * 1.8)  # notify's e-mails, a few per application, go out last
        self.round_id = f"F-{re.sub(r'[^A-Za-z0-9]+', '-', name)[:20]}-{random.Random(SEED).randrange(16**4):04x}"
        self.flow = RoundFlow(chaos.stack, self.round_id, size, rate, self._say,
                              stage_timeout=max(240.0, size * 1.5), busy=self._busy)
        self.fired: list[str] = []
        self.errors: list[str] = []

    def _say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def run(self, faults: list[Fault], before_check: Callable[[], None] | None = None) -> tuple[Report, Findings]:
        began = time.monotonic()
        self.chaos.tally.scrape_all()
        start = self.chaos.tally.totals()
        log_mark = len(self.chaos.log)
        plan = threading.Thread(target=self._fire, args=(faults,), name=f"faults-{self.name}", daemon=True)
        plan.start()
        try:
            self.flow.run()
        except AssertionError as exc:
            self.errors.append(str(exc))
        plan.join(600)
        if before_check:
            before_check()
        flowed = time.monotonic()
        findings, late, judged = self._settle()
        self.chaos.tally.scrape_all()
        delta = {k: v - start[k] for k, v in self.chaos.tally.totals().items()}
        report = Report(
            scenario=self.name, applications=len(self.flow.rows), seconds=time.monotonic() - began,
            submitted_per_s=len(self.flow.rows) / max(self.flow.submit_seconds, 1e-9),
            lost=len(findings.lost_applications()), late=len(late), duplicated=len(findings.duplicated),
            out_of_order=len(findings.out_of_order), redelivered=int(delta["redelivered"]),
            dead_lettered=int(delta["dead_lettered"]), rebalances=int(delta["rebalances"]),
            retries=int(delta["retries"]), replays=int(delta["outbox_replays"]), resent=findings.resent,
            faults=self.chaos.log[log_mark:], note=self.flow.publicity_note,
            settled_s=time.monotonic() - flowed, judged=judged,
            problems=self.errors + findings.lost[:10] + findings.duplicated[:10] + findings.out_of_order[:10],
        )
        self._say(report.details())
        if RESULTS:  # one JSON line per scenario, for a long run whose output scrolls away
            with Path(RESULTS).open("a") as out:
                out.write(json.dumps(asdict(report), ensure_ascii=False) + "\n")
        return report, findings

    def _fire(self, faults: list[Fault]) -> None:
        for fault in faults:
            wait_until(lambda f=fault: self._reached(f.stage), f"stage {fault.stage}", 3600)  # type: ignore[misc]
            time.sleep(fault.delay)  # the fault's seeded point in the stage, not a synchronisation
            self._say(f"{self.round_id}: fault at {self.flow.stage}: {fault.label}")
            try:
                fault.action()
                self.fired.append(fault.label)
            except Exception:
                self.errors.append(f"fault {fault.label} failed: {traceback.format_exc(limit=3)}")

    def _reached(self, stage: str) -> bool:
        return self.flow.stage == "settle" or STAGES.index(self.flow.stage) >= STAGES.index(stage)

    def _quiescence(self) -> Quiescence:
        return Quiescence(self.chaos.stack.bootstrap, self.chaos.stack.database_uris, list(self.flow.rows))

    def _busy(self) -> bool:
        """Whether the stack still works through the round (a stage waiting on it may wait past its time)."""
        state = self._quiescence().state()
        if not state.settled:
            self._say(f"{self.round_id}: not settled yet: {state}")
        return not state.settled

    def _settle(self) -> tuple[Findings, set[str], str]:
        """Wait until `Judge` says the round can be judged; the findings, the late applications and how."""
        invariant = Invariant(self.chaos.stack.database_uris, self.round_id, dict(self.flow.rows),
                              registry=not self.flow.publicity_note)
        quiet, judge = self._quiescence(), Judge(time.monotonic(), NOMINAL_S, self.settle_timeout)

        def judged() -> tuple[Findings, set[str], str] | None:
            state, findings = quiet.state(), self._check(invariant)
            how = judge(state.settled, findings, time.monotonic())
            if not how:
                return None
            self._say(f"{self.round_id}: judged {time.monotonic() - judge.began:.0f}s after the flow ({how}; {state})")
            return findings, judge.late(findings), how

        # A check reads the whole round back: a large round's is spaced out, not to take the database from the
        # stack it waits for (half a second for the suite's dozen applications, 20 s for 2,000). The deadline is
        # the judge's: wait_until's only guards against a hung check.
        result = wait_until(judged, "the round judged", self.settle_timeout + 600, interval=0.5 + self.size / 100)
        assert result is not None
        return result

    @staticmethod
    def _check(invariant: Invariant) -> Findings:
        try:
            return invariant.check()
        except Exception as exc:  # the database may be restarting
            return Findings(lost=[f"check failed: {exc!r}"])


@dataclass
class Judge:
    """When a round may be judged: once the stack has settled and the invariant holds, or has stayed settled
    `stable` seconds with a step still missing (nothing in flight could bring it), or at the deadline. An
    application missing a step at the nominal wait but complete when judged was late, not lost."""

    began: float
    nominal_s: float
    deadline_s: float
    stable_s: float = STABLE_S
    at_nominal: set[str] | None = None
    settled_since: float | None = None

    def __call__(self, settled: bool, findings: Findings, now: float) -> str:
        """"" while the round cannot be judged yet, else how it is: "settled" or "deadline"."""
        if self.at_nominal is None and (now >= self.began + self.nominal_s or findings.clean):
            self.at_nominal = findings.lost_applications()
        self.settled_since = (self.settled_since or now) if settled else None
        if self.settled_since is not None and (findings.clean or now - self.settled_since >= self.stable_s):
            return "settled"
        return "deadline" if now > self.began + self.deadline_s else ""

    def late(self, findings: Findings) -> set[str]:
        """The applications missing a step at the nominal wait that are complete now."""
        return (self.at_nominal or set()) - findings.lost_applications()
