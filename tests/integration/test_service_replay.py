"""After the sample round, `zhongshi replay <service>` rebuilds each service's state from the topics it
consumes, through the handlers the live consumer runs, into a state equal to the live one."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from typer.testing import CliRunner
from zhongshi_runtime.rebuild import Report, rebuild

from zhongshi import demo
from zhongshi.cli import app
from zhongshi.launcher import Stack
from zhongshi.polling import eventually
from zhongshi.replay_cli import GENERIC, spec

pytestmark = pytest.mark.integration
# Topics each service's sample-round rebuild must have applied (its own events and its inputs).
APPLIED = {
    "intake": {"pilot.application.submitted", "pilot.application.screened", "pilot.application.recommended",
               "pilot.application.forwarded", "pilot.review.decided", "pilot.platform.accredited"},
    "screening": {"pilot.application.submitted"},
    "review": {"pilot.application.forwarded", "pilot.application.exception-decided"},
    "notify": {"pilot.application.submitted", "pilot.application.screened", "pilot.review.panel-drawn",
               "pilot.review.decided", "pilot.publicity.opened", "pilot.platform.accredited"},
}


@pytest.fixture(scope="module")
def sample_round(stack: Stack) -> demo.RoundOutcome:
    return demo.load(stack)  # idempotent: the round other suites loaded already is reused


@pytest.mark.parametrize("service", GENERIC)
async def test_a_service_rebuilt_from_its_topics_equals_the_live_one(stack: Stack, sample_round: demo.RoundOutcome,
                                                                     service: str) -> None:
    assert sample_round.registry["entries"], "the sample round reached the registry"
    found, last = spec(service), list[Report]()

    async def equal() -> Report | None:
        last[:] = [await rebuild(found.SCOPE, found.wire, bootstrap=stack.bootstrap,
                                 mongodb_uri=stack.database_uri(service), into=f"replay_{uuid.uuid4().hex[:8]}",
                                 compare_with=f"zhongshi_{service}")]
        return last[0] if last[0].differences == [] else None

    try:
        report = await eventually(equal, timeout=60, interval=1, what=f"{service} rebuilt equal to the live one")
    except TimeoutError:  # show what still differs
        raise AssertionError(last[0].differences[:10] if last else "no rebuild finished") from None
    ours = [a["id"] for a in sample_round.applications]
    assert not [r for r in report.refused if any(i in r for i in ours)], report.refused[:5]  # other suites' may
    assert APPLIED[service] <= set(report.applied), report.applied


async def test_the_command_reports_no_difference_and_what_it_leaves_out(stack: Stack, sample_round: demo.RoundOutcome,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", stack.bootstrap)
    monkeypatch.setenv("MONGODB_URI", stack.database_uri("review"))
    result = await asyncio.to_thread(CliRunner().invoke, app, ["replay", "review", "--into",
                                                                f"replay_{uuid.uuid4().hex[:8]}"])
    assert result.exit_code == 0, result.output
    assert "0 differences from zhongshi_review" in result.output
    assert "not compared: experts (the expert pool (专家库) is kept by requests" in result.output
