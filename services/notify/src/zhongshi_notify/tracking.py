"""What notify follows beyond an application's stage, pure: expert panels and their scoring deadline,
publicity windows, and each application's outcome and — once accredited — its annual reports and any
warning's rectification deadline.

Events on different topics arrive in any order (and again on a replay), so every update merges: sets
grow, flags only ever turn on, and a record seen first through a later event is completed by the earlier
one when it arrives. A platform's yearly evaluation is the exception: a warning and a later confirmation
that lifts it come on two topics, so the one given last (by its time) wins, whichever arrives last.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, computed_field
from zhongshi_contracts.events import ApplicationWithdrawn, Event
from zhongshi_contracts.registry import (
    AnnualReportFiled,
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
from zhongshi_contracts.review import AssignmentDeclined, Decision, PanelDrawn, ReviewDecided, Scored


class ExpertPanel(BaseModel):
    """An application's panel: who was drawn (replacements included), who scored or declined, by when."""

    model_config = ConfigDict(frozen=True)

    application_id: str
    round_id: str
    panel_id: str = ""
    platform_name: str = Field("", description="As notify knew it when the panel was drawn.")
    score_by: date | None = None
    members: list[str] = Field(default_factory=list, description="Drawn experts, the lead first, then replacements.")
    scored: list[str] = Field(default_factory=list)
    declined: list[str] = Field(default_factory=list)
    closed: bool = Field(False, description="Decided or withdrawn: nobody need score any more.")

    @property
    def label(self) -> str:
        return self.platform_name or self.application_id

    @property
    def unscored(self) -> list[str]:
        done = {*self.scored, *self.declined}
        return [e for e in self.members if e not in done]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def open(self) -> bool:
        """Stored, so that the timer job finds the panels still waiting for scores."""
        return not self.closed and self.score_by is not None and bool(self.unscored)


def _add(items: list[str], *more: str | None) -> list[str]:
    return items + [m for m in more if m and m not in items]


PANEL_EVENTS = (PanelDrawn, AssignmentDeclined, Scored, ReviewDecided, ApplicationWithdrawn)
PUBLICITY_EVENTS = (PublicityOpened, PublicityObjectionFiled, ObjectionResolved, PublicityClosed)
PLATFORM_EVENTS = (ReviewDecided, PlatformAccredited, PlatformCultivationListed, AnnualReportFiled, PlatformRevoked,
                   PlatformWarned, PlatformStandingConfirmed)
FOLLOWED_EVENTS: tuple[type[Event], ...] = (Scored, PublicityOpened, PublicityObjectionFiled, PublicityClosed,
                                            AnnualReportFiled)
"""Consumed only to follow deadlines: they tell nobody anything."""


def panel_after(panel: ExpertPanel | None, event: Event, platform_name: str = "") -> ExpertPanel | None:
    """The panel after a review event (or a withdrawal); ``platform_name`` names it if it has no name yet."""
    if not isinstance(event, PANEL_EVENTS):
        return panel
    current = panel or ExpertPanel(application_id=event.application_id, round_id=event.round_id)
    if platform_name and not current.platform_name:
        current = current.model_copy(update={"platform_name": platform_name})
    match event:
        case PanelDrawn():
            # the drawn experts go first (the lead leads), replacements seen earlier keep their place after
            return current.model_copy(update={"panel_id": event.panel_id, "score_by": event.score_by,
                                              "members": _add(list(event.experts), *current.members)})
        case AssignmentDeclined():
            return current.model_copy(update={"panel_id": event.panel_id,
                                              "members": _add(current.members, event.expert_id, event.replacement),
                                              "declined": _add(current.declined, event.expert_id)})
        case Scored():
            return current.model_copy(update={"panel_id": event.panel_id,
                                              "members": _add(current.members, event.expert_id),
                                              "scored": _add(current.scored, event.expert_id)})
    return current.model_copy(update={"closed": True})


class PublicityWindow(BaseModel):
    """A round's publicity: its last day, the objections filed and resolved, whether it was closed."""

    model_config = ConfigDict(frozen=True)

    round_id: str
    ends_on: date | None = None
    items: int = 0
    filed: list[str] = Field(default_factory=list, description="Objection ids.")
    resolved: list[str] = Field(default_factory=list)
    closed: bool = False

    @property
    def pending(self) -> int:
        """Objections still to resolve before publicity can be closed."""
        return len(set(self.filed) - set(self.resolved))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def open(self) -> bool:
        return not self.closed and self.ends_on is not None


def publicity_after(window: PublicityWindow | None, event: Event) -> PublicityWindow | None:
    """The round's publicity after ``event`` (publicity events carry the round id as their key)."""
    if not isinstance(event, PUBLICITY_EVENTS):
        return window
    current = window or PublicityWindow(round_id=event.round_id)
    match event:
        case PublicityOpened():
            return current.model_copy(update={"ends_on": event.ends_on, "items": len(event.items)})
        case PublicityObjectionFiled():
            return current.model_copy(update={"filed": _add(current.filed, event.objection_id)})
        case ObjectionResolved():
            return current.model_copy(update={"filed": _add(current.filed, event.objection_id),
                                              "resolved": _add(current.resolved, event.objection_id)})
    return current.model_copy(update={"closed": True})


class Platform(BaseModel):
    """An application after review: its decision and, once accredited, the platform's annual reports."""

    model_config = ConfigDict(frozen=True)

    application_id: str
    round_id: str
    applicant_credit_code: str = ""
    applicant_name: str = ""
    platform_name: str = ""
    decision: Decision | None = None
    platform_id: str = ""
    accredited_on: date | None = None
    reports_filed: list[int] = Field(default_factory=list, description="Years whose annual report was filed.")
    revoked: bool = False
    rectify_by: date | None = Field(None, description="The standing warning's rectification deadline; None: "
                                                      "no warning, or a later evaluation lifted it.")
    warned_year: int | None = Field(None, description="The evaluation year of the standing warning.")
    evaluated_at: datetime | None = Field(None, description="When the latest warning or confirmation was given.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def active(self) -> bool:
        """An accredited platform not revoked: it owes an annual report every year."""
        return self.accredited_on is not None and not self.revoked


_NAMED = ReviewDecided | PlatformAccredited | PlatformCultivationListed


def platform_after(platform: Platform | None, event: Event) -> Platform | None:
    """The application's outcome after a review or registry event keyed by it."""
    if not isinstance(event, PLATFORM_EVENTS):
        return platform
    current = platform or Platform(application_id=event.application_id, round_id=event.round_id)
    update: dict[str, object] = {}
    if isinstance(event, _NAMED):
        update = {"applicant_credit_code": event.applicant_credit_code, "applicant_name": event.applicant_name,
                  "platform_name": event.platform_name}
    match event:
        case ReviewDecided():
            update["decision"] = event.decision
        case PlatformWarned():
            update = _evaluated(current, event.platform_id, event.warned_at, event.rectify_by, event.year)
        case PlatformStandingConfirmed():
            update = _evaluated(current, event.platform_id, event.confirmed_at, None, None)
        case PlatformAccredited():
            update |= {"platform_id": event.platform_id, "accredited_on": event.accredited_on}
        case PlatformCultivationListed():
            update["platform_id"] = event.platform_id
        case AnnualReportFiled():
            update = {"platform_id": event.platform_id,
                      "reports_filed": sorted({*current.reports_filed, event.year})}
        case PlatformRevoked():
            update = {"platform_id": event.platform_id, "revoked": True}
    return current.model_copy(update=update)


def _evaluated(current: Platform, platform_id: str, at: datetime, rectify_by: date | None,
               year: int | None) -> dict[str, object]:
    """A yearly evaluation's update: the latest given wins, an older one arriving later changes nothing."""
    if current.evaluated_at is not None and at < current.evaluated_at:
        return {"platform_id": platform_id}
    return {"platform_id": platform_id, "evaluated_at": at, "rectify_by": rectify_by, "warned_year": year}
