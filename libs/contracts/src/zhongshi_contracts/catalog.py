"""Every event type of the public contract, for schema generation and documentation."""

from __future__ import annotations

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

EVENT_TYPES: tuple[type[Event], ...] = (
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
