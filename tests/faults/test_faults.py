"""The fault suite (issue #8): a round through every stage under each fault; nothing acknowledged is lost,
nothing is applied twice. Each scenario prints lost / late / duplicated / redelivered / dead-lettered, judged
once the stack has settled, and asserts lost, duplicated and out-of-order.
Size and pace: ZHONGSHI_FAULT_APPS (applications per round), ZHONGSHI_FAULT_RATE (submissions per second),
ZHONGSHI_FAULT_SEED (where the faults fall)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import pytest

from tests.faults.chaos import READY_TIMEOUT_S, Chaos
from tests.faults.harness import APPS, SEED, Fault, Report, Scenario, seeded_points
from tests.faults.kafka import Republisher, consumers_of, dead_letters, first_record, publish_poison
from zhongshi.launcher import EMBEDDED_SESSION_TIMEOUT_MS, SERVICES
from zhongshi.polling import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(max(900, APPS * 8))]
SESSION_TIMEOUT_S = EMBEDDED_SESSION_TIMEOUT_MS / 1000  # what the embedded launcher gives the consumers
REBALANCES = "zhongshi_consumer_rebalances_total"


def passed(report: Report, scenario: Scenario, reports: list[Report], planned: int) -> None:
    """Every planned fault fired, and nothing was lost, duplicated or applied out of order. Late steps and a
    slow stage are reported, not failed: the round is judged once the stack has settled (a stage that never
    completes leaves its applications short of their final state, which is lost)."""
    reports.append(report)
    assert len(scenario.fired) == planned, f"only {scenario.fired} of {planned} faults fired\n{report.details()}"
    assert (report.lost, report.duplicated, report.out_of_order) == (0, 0, 0), report.details()


# Scenario 5 runs first: the new broker gets every retained event again, and later rounds would add to them.
def test_a_broker_restart_that_loses_every_record_is_recovered_from_the_outboxes(
        chaos: Chaos, reports: list[Report]) -> None:
    rng = random.Random(SEED + 5)
    [(stage, delay)] = seeded_points(rng, 1, ("screening", "chain"))  # most of the round after it
    scenario = Scenario(chaos, "5 broker restart (log lost)")
    report, _ = scenario.run([Fault(stage, delay, "kill -9 the broker, start an empty one",
                                    chaos.restart_broker)])
    passed(report, scenario, reports, 1)
    assert report.replays >= 1, report.details()


def test_kill_9_of_each_service_at_a_random_point_loses_and_duplicates_nothing(
        chaos: Chaos, reports: list[Report]) -> None:
    rng = random.Random(SEED + 1)
    victims = rng.sample(SERVICES, len(SERVICES))

    def kill_and_restart(name: str, down: float) -> None:
        """The next fault may fire while this service is still starting: the round goes on without it."""
        chaos.kill(name)
        time.sleep(down)
        chaos.restart(name, wait=False)

    faults = [Fault(stage, delay, f"kill -9 {name}, {down:.1f}s down",
                    lambda n=name, d=down: kill_and_restart(n, d))  # type: ignore[misc]
              for (stage, delay), name, down in zip(seeded_points(rng, len(victims)), victims,
                                                    [rng.uniform(0.5, 3) for _ in victims], strict=True)]
    scenario = Scenario(chaos, "1 kill -9 each service")
    report, _ = scenario.run(faults, before_check=lambda: chaos.stack.wait_ready(timeout=READY_TIMEOUT_S))
    passed(report, scenario, reports, len(faults))


def test_a_crash_after_the_commit_and_before_the_ack_is_redelivered_and_absorbed(
        chaos: Chaos, reports: list[Report]) -> None:
    rng = random.Random(SEED + 2)
    after = {name: rng.randint(2, 6) for name in SERVICES}
    scenario = Scenario(chaos, "2 crash between commit and ack")
    crashes = len(chaos.crashes)
    chaos.set_hooks({"exit_after_commits": after})
    try:
        report, _ = scenario.run([])
    finally:
        chaos.set_hooks({})
    crashed = chaos.crashes[crashes:]
    passed(report, scenario, reports, 0)
    assert sorted(crashed) == sorted(SERVICES), f"crashed: {crashed}\n{report.details()}"
    assert report.redelivered >= len(crashed), report.details()


def test_two_replicas_in_one_group_survive_losing_one(chaos: Chaos, reports: list[Report]) -> None:
    rng = random.Random(SEED + 3)
    replicas = chaos.add_replicas("screening", "notify")
    assigned_before: dict[str, float] = {}  # each twin's assignments when its replica was killed

    def kill(replica: str) -> None:
        twin = replica.split("-")[0]
        assigned_before[twin] = chaos.tally.of(twin, REBALANCES)
        chaos.kill(replica)

    faults = [Fault(stage, delay, f"kill -9 {replica} (its twin takes over)",
                    lambda r=replica: kill(r))  # type: ignore[misc]
              for (stage, delay), replica in zip(seeded_points(rng, 2, ("screening", "chain")), replicas, strict=True)]
    scenario = Scenario(chaos, "3 two replicas, one killed")
    report, _ = scenario.run(faults)
    passed(report, scenario, reports, len(faults))
    # The twin takes the dead replica's partitions once the group sees it gone (a session timeout later), which
    # may come after the round has finished when the dead replica held none of what was left to do.
    wait_until(lambda: all(chaos.tally.of(twin, REBALANCES) > n for twin, n in assigned_before.items()),
               "each twin's new assignment after its replica was killed", timeout=SESSION_TIMEOUT_S * 10)


def test_a_consumer_paused_past_its_session_timeout_does_not_apply_twice(chaos: Chaos, reports: list[Report]) -> None:
    rng = random.Random(SEED + 4)
    [zombie] = chaos.add_replicas("intake")

    def pause_past_the_session() -> None:
        """Paused until its session has expired and the group gave its partitions to the original intake."""
        before, paused = chaos.tally.of("intake", REBALANCES), time.monotonic()
        chaos.pause(zombie)
        wait_until(lambda: time.monotonic() - paused > SESSION_TIMEOUT_S
                   and chaos.tally.of("intake", REBALANCES) > before, "the group rebalanced without the zombie",
                   timeout=180, interval=0.5)
        chaos.resume(zombie)

    [(stage, delay)] = seeded_points(rng, 1, ("chain",))
    scenario = Scenario(chaos, "4 zombie consumer (SIGSTOP)")
    try:
        report, _ = scenario.run([Fault(stage, delay, f"SIGSTOP {zombie} past its {SESSION_TIMEOUT_S:g} s session",
                                        pause_past_the_session)])
    finally:
        chaos.tally.scrape(zombie)
        chaos.stack.stop_service(zombie)
    passed(report, scenario, reports, 1)


def test_kill_9_of_the_database_loses_no_acknowledged_write(chaos: Chaos, reports: list[Report]) -> None:
    rng = random.Random(SEED + 6)
    [(stage, delay)] = seeded_points(rng, 1)
    down = rng.uniform(1, 3)
    scenario = Scenario(chaos, "6 kill -9 the database")
    report, _ = scenario.run([Fault(stage, delay, f"kill -9 the database, {down:.1f}s down",
                                    lambda: chaos.restart_databases(down))])
    passed(report, scenario, reports, 1)


def test_five_percent_of_events_published_again_are_absorbed_and_counted(
        chaos: Chaos, reports: list[Report]) -> None:
    scenario = Scenario(chaos, "7 re-publish 5 % of events")
    republisher = Republisher(chaos.stack.bootstrap, scenario.flow.rows, share=0.05, seed=SEED + 7)
    republisher.start()
    report, _ = scenario.run([], before_check=republisher.stop)
    report.note = f"{sum(republisher.republished.values())} of {republisher.seen} events published again"
    passed(report, scenario, reports, 0)
    assert sum(republisher.republished.values()) > 0
    assert report.redelivered >= republisher.expected_duplicates(), report.details()


def test_poison_messages_are_dead_lettered_with_reasons_and_the_flow_continues(
        chaos: Chaos, reports: list[Report]) -> None:
    rng = random.Random(SEED + 8)
    always_fails = f"POISON-raises-{rng.randrange(16**6):06x}"
    scenario = Scenario(chaos, "8 poison messages")
    sent: dict[str, str] = {}

    def poison() -> None:
        template = asyncio.run(first_record(chaos.stack.bootstrap, "pilot.application.screened", scenario.flow.rows))
        sent.update(asyncio.run(publish_poison(chaos.stack.bootstrap, template, always_fails)))

    [(stage, delay)] = seeded_points(rng, 1, ("chain",))
    with chaos.hooks(raise_for_subjects=[always_fails]):
        report, _ = scenario.run([Fault(stage, delay, "publish 3 malformed messages and 1 that always fails",
                                        poison)])
    consumers = consumers_of()
    expected = Counter({(subject, f"zhongshi-{group}"): 1 for subject, topic in sent.items()
                        for group in consumers[topic]})
    found = asyncio.run(dead_letters(chaos.stack.bootstrap, sent, sum(expected.values())))
    passed(report, scenario, reports, 1)
    assert Counter((d["subject"], d["group"]) for d in found) == expected, found
    assert all(d["reason"] for d in found)
    assert {d["kind"] for d in found if d["subject"] == always_fails} == {"failed"}
    assert {d["kind"] for d in found if d["subject"] != always_fails} == {"invalid"}
    assert report.dead_lettered == sum(expected.values()), report.details()


def test_a_slow_database_causes_no_rebalance_storm(chaos: Chaos, reports: list[Report]) -> None:
    scenario = Scenario(chaos, "9 slow database (1 % of writes)")
    with chaos.hooks(slow_writes={"fraction": 0.01, "seconds": 2, "seed": SEED + 9}):
        report, _ = scenario.run([])
    passed(report, scenario, reports, 0)
    assert report.rebalances == 0, report.details()
