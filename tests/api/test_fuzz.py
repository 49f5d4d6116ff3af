"""schemathesis over every service's OpenAPI document on a live stack, as every kind of caller: no 5xx, and
every response (status code, content type, body) is one the document declares.

Each operation is fuzzed with valid and invalid data by the callers its document says may call it (the roles
of its security requirement), and with one call by everyone else, who must get the documented 401/403; a public
one as anonymous and signed in. Bounded: a few examples per operation and caller, no shrinking."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from zhongshi_runtime.auth import Role

from zhongshi.launcher import SERVICES, Stack

pytestmark = pytest.mark.integration

CALLERS: dict[str, tuple[Role, str] | None] = {
    "anonymous": None,
    "applicant": (Role.APPLICANT, "91420111MA4KFUZZ0X"),
    "county_official": (Role.COUNTY_OFFICIAL, "420111"),
    "city_official": (Role.CITY_OFFICIAL, "420100"),
    "province_official": (Role.PROVINCE_OFFICIAL, "42"),
    "expert": (Role.EXPERT, "E-FUZZ"),
    "operator": (Role.OPERATOR, "*"),
}
EXAMPLES_ALLOWED = 5  # per generation mode, for a caller the operation admits
EXAMPLES_REFUSED = 1  # a caller it refuses gets 401/403 whatever the input
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
LOOPBACK_HOOK = "http://127.0.0.1:9/fuzz"  # the discard port: a registered webhook never leaves the machine


def plan(operation: schemathesis.APIOperation[Any, Any, Any, Any]) -> dict[str, list[tuple[GenerationMode, int]]]:
    """Who fuzzes an operation and how much: the callers its security requirement admits (every role when it
    names none) with valid and invalid data, a glance by everyone else; a public one as anonymous and signed in."""
    full = [(GenerationMode.POSITIVE, EXAMPLES_ALLOWED), (GenerationMode.NEGATIVE, EXAMPLES_ALLOWED)]
    requirements = operation.definition.raw.get("security")
    if not requirements:
        return {"anonymous": full, "province_official": full}
    roles = {role for requirement in requirements for scopes in requirement.values() for role in scopes}
    admits = {name for name, who in CALLERS.items() if who and (not roles or who[0].value in roles)}
    return {name: full if name in admits else [(GenerationMode.POSITIVE, EXAMPLES_REFUSED)] for name in CALLERS}


def fuzz(operation: schemathesis.APIOperation[Any, Any, Any, Any], headers: dict[str, str], mode: GenerationMode,
         examples: int) -> str | None:
    """Run ``examples`` generated calls; the first failure, described, or None."""
    found: list[str] = []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case[Any]) -> None:
        if case.method == "POST" and case.path == "/api/v1/webhooks" and isinstance(case.body, dict):
            case.body["url"] = LOOPBACK_HOOK
        try:
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)
        except (Exception, BaseExceptionGroup) as exc:  # a check's failure group, or the call itself
            found.append(f"{exc}\n    {case.as_curl_command(headers={'Authorization': '…'} if headers else None)}")
            raise

    try:
        run()
    except Unsatisfiable:  # no invalid input exists (no parameters, or only a free-form string)
        return None
    except (Exception, BaseExceptionGroup) as exc:
        return found[0] if found else f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="module")
def tokens(api_stack: Stack) -> dict[str, dict[str, str]]:
    return {name: {"Authorization": f"Bearer {api_stack.token(*who)}"} if who else {}
            for name, who in CALLERS.items()}


@pytest.mark.parametrize("service", SERVICES)
def test_no_server_error_and_every_response_is_documented(service: str, api_stack: Stack,
                                                          tokens: dict[str, dict[str, str]]) -> None:
    schema = schemathesis.openapi.from_url(f"{api_stack.url(service)}/openapi.json")
    failures: list[str] = []
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if op.path.startswith("/api/")]
    for operation in operations:
        for caller, runs in plan(operation).items():
            for mode, examples in runs:
                if problem := fuzz(operation, tokens[caller], mode, examples):
                    failures.append(f"{operation.label} as {caller} ({mode.value}): {problem}")
                    break
    assert operations, f"{service} documents no operation"
    assert not failures, f"{len(failures)} failing:\n\n" + "\n\n".join(failures)
