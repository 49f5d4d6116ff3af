"""Topic names: one topic per event type, `pilot.<aggregate>.<event>` (docs/integration.md, "Topics, keys,
ordering")."""

from __future__ import annotations

from dataclasses import dataclass

CE_TYPE_PREFIX = "cn.gov.hubei.pilot"
DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Topic:
    """A Kafka topic of the contract, with its partition count; an internal one is not for subscribers."""

    name: str
    partitions: int = 3
    internal: bool = False  # read by zhongshi's own services only (Kafka ACLs): may carry personal data

    @property
    def dlq(self) -> str:
        return self.name + DLQ_SUFFIX

    def ce_type(self, version: int = 1) -> str:
        """The CloudEvents type, e.g. ``cn.gov.hubei.pilot.application.submitted.v1``."""
        return f"{CE_TYPE_PREFIX}.{self.name.removeprefix('pilot.')}.v{version}"


APPLICATION_SUBMITTED = Topic("pilot.application.submitted")
APPLICATION_WITHDRAWN = Topic("pilot.application.withdrawn")
APPLICATION_SCREENED = Topic("pilot.application.screened")
APPLICATION_RECOMMENDED = Topic("pilot.application.recommended")
APPLICATION_RETURNED = Topic("pilot.application.returned")
APPLICATION_REJECTED = Topic("pilot.application.rejected")
APPLICATION_FORWARDED = Topic("pilot.application.forwarded")
APPLICATION_EXCEPTION_DECIDED = Topic("pilot.application.exception-decided")
ROUND_SCHEDULED = Topic("pilot.round.scheduled")
RULE_SET_PUBLISHED = Topic("pilot.rule-set.published", partitions=1)
REVIEW_PANEL_DRAWN = Topic("pilot.review.panel-drawn")
REVIEW_ASSIGNMENT_DECLINED = Topic("pilot.review.assignment-declined")
REVIEW_SCORED = Topic("pilot.review.scored")
REVIEW_DECIDED = Topic("pilot.review.decided")
PUBLICITY_OPENED = Topic("pilot.publicity.opened")
PUBLICITY_OBJECTION_FILED = Topic("pilot.publicity.objection-filed")
PUBLICITY_OBJECTION_RESOLVED = Topic("pilot.publicity.objection-resolved")
PUBLICITY_CLOSED = Topic("pilot.publicity.closed")
PLATFORM_ACCREDITED = Topic("pilot.platform.accredited")
PLATFORM_CULTIVATION_LISTED = Topic("pilot.platform.cultivation-listed")
PLATFORM_ANNUAL_REPORT_FILED = Topic("pilot.platform.annual-report-filed")
PLATFORM_STANDING_CONFIRMED = Topic("pilot.platform.standing-confirmed")
PLATFORM_WARNED = Topic("pilot.platform.warned")
PLATFORM_REVOKED = Topic("pilot.platform.revoked")
PLATFORM_NATIONAL_RECOMMENDED = Topic("pilot.platform.national-recommended")

# The full events that carry personal data travel here (their public projections keep the public topic):
APPLICATION_SUBMITTED_INTERNAL = Topic("pilot.internal.application.submitted", internal=True)
APPLICATION_FORWARDED_INTERNAL = Topic("pilot.internal.application.forwarded", internal=True)
REVIEW_PANEL_DRAWN_INTERNAL = Topic("pilot.internal.review.panel-drawn", internal=True)
REVIEW_ASSIGNMENT_DECLINED_INTERNAL = Topic("pilot.internal.review.assignment-declined", internal=True)
REVIEW_SCORED_INTERNAL = Topic("pilot.internal.review.scored", internal=True)
REVIEW_DECIDED_INTERNAL = Topic("pilot.internal.review.decided", internal=True)
PUBLICITY_OBJECTION_RESOLVED_INTERNAL = Topic("pilot.internal.publicity.objection-resolved", internal=True)

# each internal topic by the public topic of its events' projections
INTERNAL_OF: dict[str, Topic] = {t.name.replace("pilot.internal.", "pilot.", 1): t
                                 for t in globals().copy().values() if isinstance(t, Topic) and t.internal}

ALL_TOPICS: tuple[Topic, ...] = tuple(v for v in globals().values() if isinstance(v, Topic))
BY_NAME: dict[str, Topic] = {t.name: t for t in ALL_TOPICS}


def topic_named(name: str) -> Topic:
    """The contract topic called ``name``; KeyError for a name outside the contract."""
    return BY_NAME[name]


def wire_name(name: str) -> str:
    """The topic events called ``name`` are consumed from: its internal twin when it has one."""
    return INTERNAL_OF[name].name if name in INTERNAL_OF else name
