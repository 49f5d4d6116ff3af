"""The notices of publicity and the registry that need what notify knows of an application's outcome, pure:
the objector and — when the objection is upheld — the applicant whose decision it changes; the applicant
at each year's evaluation (good standing, warning with a rectification deadline, revocation).

Platform events carry no credit code: the applicant is addressed through the outcome notify keeps from
`review.decided` and `platform.accredited` (`tracking.Platform`); without one nobody can be addressed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zhongshi_contracts.events import Event
from zhongshi_contracts.registry import ObjectionResolved, PlatformRevoked, PlatformStandingConfirmed, PlatformWarned
from zhongshi_contracts.review import DECISION_LABELS

from zhongshi_notify.domain import Audience, Notice, cn_date
from zhongshi_notify.tracking import Platform

SHORT_REASON = 30  # characters of an objection's resolution a text message quotes


def shorten(text: str, limit: int = SHORT_REASON) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _about(event: Event, platform: Platform | None, application_id: str) -> dict[str, str]:
    known = platform or Platform(application_id=application_id, round_id=event.round_id)
    return {"round_id": event.round_id, "application_id": application_id,
            "platform_name": known.platform_name or application_id,
            "applicant_name": known.applicant_name or "申报主体"}


def _applicant(kind: str, platform: Platform | None, facts: dict[str, str]) -> list[Notice]:
    if platform is None or not platform.applicant_credit_code:
        return []
    return [Notice(template=f"{kind}.applicant", recipient=platform.applicant_credit_code,
                   audience=Audience.APPLICANT, facts=facts, application_id=platform.application_id)]


def _objection_resolved(e: ObjectionResolved, platform: Platform | None) -> list[Notice]:
    """The objector, at the address it left (SMS or e-mail); the applicant only when its decision changes."""
    facts = _about(e, platform, e.objected_application_id) | {
        "objection_id": e.objection_id, "outcome": "异议成立" if e.upheld else "异议不成立",
        "result": "该申报的拟认定结果将调整为“未通过”" if e.upheld else "维持原公示结果",
        "reason": e.reason, "reason_short": shorten(e.reason)}
    said = [Notice(template="publicity.objection-resolved.objector", recipient=e.objection_id,
                   audience=Audience.PUBLIC, facts=facts, application_id=e.objected_application_id,
                   address=e.reply_to)]
    if e.upheld:
        decided = DECISION_LABELS[platform.decision] if platform and platform.decision else "公示的评审结果"
        said += _applicant("publicity.objection-resolved", platform, facts | {"decision": decided})
    return said


def _standing_confirmed(e: PlatformStandingConfirmed, platform: Platform | None) -> list[Notice]:
    return _applicant("platform.standing-confirmed", platform,
                      _about(e, platform, e.application_id) | {"year": str(e.year), "reason": e.reason})


def _warned(e: PlatformWarned, platform: Platform | None) -> list[Notice]:
    rectify_by = cn_date(e.rectify_by) if e.rectify_by else "省经信厅规定的期限"
    return _applicant("platform.warned", platform, _about(e, platform, e.application_id) | {
        "year": str(e.year), "reason": e.reason, "reason_short": shorten(e.reason), "rectify_by": rectify_by})


def _revoked(e: PlatformRevoked, platform: Platform | None) -> list[Notice]:
    certificate = f"（证书编号{e.certificate_no}）" if e.certificate_no else ""
    return _applicant("platform.revoked", platform, _about(e, platform, e.application_id) | {
        "certificate": certificate, "reason": e.reason, "reason_short": shorten(e.reason)})


Builder = Callable[[Any, Platform | None], list[Notice]]
_BUILDERS: dict[type[Event], Builder] = {
    ObjectionResolved: _objection_resolved, PlatformStandingConfirmed: _standing_confirmed,
    PlatformWarned: _warned, PlatformRevoked: _revoked,
}
NOTIFIED: tuple[type[Event], ...] = tuple(_BUILDERS)


def registry_notices(event: Event, platform: Platform | None) -> list[Notice]:
    """Everyone ``event`` concerns; ``platform`` is the outcome of the application it is about."""
    builder = _BUILDERS.get(type(event))
    return builder(event, platform) if builder else []
