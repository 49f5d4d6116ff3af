"""The public projections (`.v2` types) of the events that carry personal data.

Such an event (`Event.internal_topic` set) travels whole on its internal topic, where only zhongshi's own
consumer groups may read (Kafka ACLs); the outbox writes its projection, in the same transaction, on the
public topic: references (application, panel, objection ids) and counts in place of contacts and experts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from zhongshi_contracts import topics
from zhongshi_contracts.dossier import Material, Outcomes, Platform
from zhongshi_contracts.events import ApplicationSubmitted, ClauseResult, Event
from zhongshi_contracts.materials import MaterialReference
from zhongshi_contracts.privacy import Classification, mark_fields
from zhongshi_contracts.recommendation import ApplicationForwarded, ChainStep, Opinion
from zhongshi_contracts.reference import LegalPersonKind
from zhongshi_contracts.registry import ObjectionResolved
from zhongshi_contracts.review import AssignmentDeclined, Decision, PanelDrawn, ReviewDecided, Scored


class PublicApplicant(BaseModel):
    """申报主体 without its contact person."""

    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_extra=mark_fields)
    classification: ClassVar[Classification] = Classification.PUBLIC

    name: str
    credit_code: str
    legal_person_kind: LegalPersonKind
    region_code: str


class PublicDossier(BaseModel):
    """The dossier as subscribers see it: everything but the applicant's contact person."""

    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_extra=mark_fields)
    classification: ClassVar[Classification] = Classification.PUBLIC

    applicant: PublicApplicant
    platform: Platform
    outcomes: Outcomes = Field(default_factory=Outcomes)
    materials: list[Material] = Field(default_factory=list)


class ApplicationSubmittedV2(Event):
    """An applicant submitted (or resubmitted) an application: the dossier without its contact person."""

    topic = topics.APPLICATION_SUBMITTED
    type_version = 2
    revision: int = Field(ge=1, description="1 for the first submission, +1 for each resubmission.")
    rule_set_version: str
    submitted_at: datetime
    city_code: str
    dossier: PublicDossier
    materials: list[MaterialReference] = Field(default_factory=list)


class ApplicationForwardedV2(ChainStep):
    """The city forwarded the application to the province: the dossier without its contact person."""

    topic = topics.APPLICATION_FORWARDED
    type_version = 2
    priority: int = Field(ge=1)
    quota: int = Field(ge=0)
    opinions: list[Opinion]
    flagged: list[str]
    rule_set_version: str
    clauses: list[ClauseResult]
    dossier: PublicDossier


class PanelDrawnV2(Event):
    """A panel was drawn for the application; who sits on it is confidential (评审专家名单保密)."""

    topic = topics.REVIEW_PANEL_DRAWN
    type_version = 2
    panel_id: str
    members: int = Field(ge=0, description="How many experts the panel has.")
    seed: str
    candidates: int = Field(ge=0)
    excluded: int = Field(ge=0)
    drawn_at: datetime
    score_by: date | None = None
    commitment: str | None = None
    pool_version: str | None = None
    topped_up: int = Field(0, ge=0, description="How many experts were added to a panel short of members.")


class AssignmentDeclinedV2(Event):
    """An expert of the panel declined the assignment; whether a replacement was drawn."""

    topic = topics.REVIEW_ASSIGNMENT_DECLINED
    type_version = 2
    panel_id: str
    replaced: bool
    declined_at: datetime


class ScoredV2(Event):
    """An expert of the panel scored the application (who, and the expert's own scores, stay internal)."""

    topic = topics.REVIEW_SCORED
    type_version = 2
    panel_id: str
    rubric_version: str
    scored_at: datetime


class ReviewDecidedV2(Event):
    """The province confirmed the round's decision for this application (the panel as a size only)."""

    topic = topics.REVIEW_DECIDED
    type_version = 2
    decision: Decision
    score: Decimal | None
    rank: int | None
    rubric_version: str
    aggregation: str
    panel_size: int = Field(ge=0)
    overridden: bool
    justification: str
    platform_name: str
    applicant_name: str
    applicant_credit_code: str
    region_code: str
    city_code: str
    decided_at: datetime


class ObjectionResolvedV2(Event):
    """The province dismissed or upheld an objection (the objector's contact stays internal)."""

    topic = topics.PUBLICITY_OBJECTION_RESOLVED
    type_version = 2
    objection_id: str
    objected_application_id: str
    upheld: bool
    reason: str
    resolved_at: datetime


def _panel_drawn(e: PanelDrawn) -> dict[str, Any]:
    return {"members": len(e.experts), "topped_up": len(e.topped_up)}


def _declined(e: AssignmentDeclined) -> dict[str, Any]:
    return {"replaced": e.replacement is not None}


def _decided(e: ReviewDecided) -> dict[str, Any]:
    return {"panel_size": len(e.panel)}


Derived = Callable[[Any], dict[str, Any]]
PROJECTIONS: dict[type[Event], tuple[type[Event], Derived]] = {
    ApplicationSubmitted: (ApplicationSubmittedV2, lambda _: {}),
    ApplicationForwarded: (ApplicationForwardedV2, lambda _: {}),
    PanelDrawn: (PanelDrawnV2, _panel_drawn),
    AssignmentDeclined: (AssignmentDeclinedV2, _declined),
    Scored: (ScoredV2, lambda _: {}),
    ReviewDecided: (ReviewDecidedV2, _decided),
    ObjectionResolved: (ObjectionResolvedV2, lambda _: {}),
}
PUBLIC_TYPES: tuple[type[Event], ...] = tuple(public for public, _ in PROJECTIONS.values())


def public_event_id(event_id: str) -> str:
    """The CloudEvents id of the projection of the event ``event_id``: derived, so the public topic's record and
    the webhook of the same event share it (a subscriber of both dedupes on it)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:zhongshi:public-projection:{event_id}"))


def public_view(event: Event) -> Event | None:
    """The projection of ``event`` for its public topic (None: ``event`` itself is public)."""
    found = PROJECTIONS.get(type(event))
    if found is None:
        return None
    public, derived = found
    # the projection's fields are public by construction: validating from the whole event drops the rest
    return public.model_validate({**event.model_dump(), **derived(event)})


def published_types(produced: Iterable[type[Event]]) -> list[type[Event]]:
    """What a producer of ``produced`` writes: each type, and the public projection of those that have one."""
    return [m for model in produced for m in (model, *([PROJECTIONS[model][0]] if model in PROJECTIONS else []))]
