"""Every event type of the contract, for schema generation and documentation, and those on public topics."""

from __future__ import annotations

from zhongshi_contracts.events import (
    ApplicationScreened,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    Event,
    RuleSetPublished,
)
from zhongshi_contracts.projections import PUBLIC_TYPES
from zhongshi_contracts.recommendation import (
    ApplicationExceptionDecided,
    ApplicationForwarded,
    ApplicationRecommended,
    ApplicationRejected,
    ApplicationReturned,
    RoundScheduled,
)
from zhongshi_contracts.registry import (
    AnnualReportFiled,
    NationalRecommended,
    ObjectionResolved,
    PlatformAccredited,
    PlatformCultivationListed,
    PlatformRevoked,
    PlatformStandingConfirmed,
    PlatformWarned,
    PublicityClosed,
    PublicityObjectionFiled,
    PublicityOpened,
)
from zhongshi_contracts.review import AssignmentDeclined, PanelDrawn, ReviewDecided, Scored

FULL_TYPES: tuple[type[Event], ...] = (
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ApplicationScreened,
    ApplicationRecommended,
    ApplicationReturned,
    ApplicationRejected,
    ApplicationForwarded,
    ApplicationExceptionDecided,
    RoundScheduled,
    RuleSetPublished,
    PanelDrawn,
    AssignmentDeclined,
    Scored,
    ReviewDecided,
    PublicityOpened,
    PublicityObjectionFiled,
    ObjectionResolved,
    PublicityClosed,
    PlatformAccredited,
    PlatformCultivationListed,
    AnnualReportFiled,
    PlatformStandingConfirmed,
    PlatformWarned,
    PlatformRevoked,
    NationalRecommended,
)

EVENT_TYPES: tuple[type[Event], ...] = (*FULL_TYPES, *PUBLIC_TYPES)
"""Every CloudEvents type zhongshi publishes (each has its schema in docs/schemas)."""

PUBLIC_TOPIC_TYPES: tuple[type[Event], ...] = (*(m for m in FULL_TYPES if m.internal_topic is None), *PUBLIC_TYPES)
"""What subscribers read on the public topics: no personal field reachable in any of them."""
