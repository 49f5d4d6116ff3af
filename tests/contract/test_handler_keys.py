"""Every handler's idempotency key, derived from its name, equals the key it was recorded under before keys were
derived: an event consumed by an older release and redelivered after an upgrade is still a duplicate."""

from __future__ import annotations

import pytest
from zhongshi_contracts.events import (
    ApplicationScreened,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    Event,
    RuleSetPublished,
)
from zhongshi_contracts.recommendation import (
    ApplicationExceptionDecided,
    ApplicationForwarded,
    ApplicationRecommended,
    ApplicationRejected,
    ApplicationReturned,
)
from zhongshi_contracts.registry import PlatformAccredited, PlatformCultivationListed, PublicityClosed
from zhongshi_contracts.review import AssignmentDeclined, PanelDrawn, ReviewDecided
from zhongshi_notify.handlers import CONSUMED_EVENTS

from zhongshi.apps import development_app

CHAIN_STEPS = (ApplicationRecommended, ApplicationReturned, ApplicationRejected, ApplicationForwarded,
               ApplicationExceptionDecided)

# The keys as they were typed by hand in each handlers.py, by event model.
RECORDED_KEYS: dict[str, dict[type[Event], str]] = {
    "intake": {
        ApplicationScreened: "intake.on_screened", **dict.fromkeys(CHAIN_STEPS, "intake.on_chain_step"),
        PanelDrawn: "intake.on_panel_drawn", AssignmentDeclined: "intake.on_assignment_declined",
        ReviewDecided: "intake.on_decided", PlatformAccredited: "intake.on_listed",
        PlatformCultivationListed: "intake.on_listed", RuleSetPublished: "intake.on_rule_set_published",
        PublicityClosed: "intake.on_publicity_closed",
    },
    "screening": {ApplicationSubmitted: "screening.on_submitted", ApplicationWithdrawn: "screening.on_withdrawn"},
    "review": {ApplicationForwarded: "review.on_forwarded", ApplicationExceptionDecided: "review.on_exception_decided",
               ApplicationWithdrawn: "review.on_withdrawn"},
    "registry": {ApplicationScreened: "registry.on_screened", ApplicationForwarded: "registry.on_forwarded",
                 ReviewDecided: "registry.on_decided", ApplicationWithdrawn: "registry.on_withdrawn"},  # new, 6 Dec
    "notify": dict.fromkeys(CONSUMED_EVENTS, "notify.plan"),
}


@pytest.mark.parametrize("service", sorted(RECORDED_KEYS))
def test_each_handler_is_recorded_under_the_key_it_had_before_keys_were_derived(service: str) -> None:
    keys = development_app(service).state.kit.consumers.keys
    assert keys == {model.wire_topic().name: key for model, key in RECORDED_KEYS[service].items()}
