"""Every event type of the public contract, for schema generation and documentation."""

from __future__ import annotations

from zhongshi_contracts.events import ApplicationScreened, ApplicationSubmitted, ApplicationWithdrawn, Event
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
    PlatformAccredited,
    PlatformCultivationListed,
    PlatformRevoked,
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
    PanelDrawn,
    AssignmentDeclined,
    Scored,
    ReviewDecided,
    PublicityOpened,
    PublicityObjectionFiled,
    PublicityClosed,
    PlatformAccredited,
    PlatformCultivationListed,
    AnnualReportFiled,
    PlatformWarned,
    PlatformRevoked,
    NationalRecommended,
)
