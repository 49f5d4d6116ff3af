"""The deadlines beyond the chain's stages, pure: expert scoring, the end of publicity, annual reports and
a warned platform's rectification.

Same rules as `reminders.py`: N days before the last day the one who must act is reminded (one reminder
per configured N, only the latest window that has opened); from the day after, the province is told once
per deadline. Each timer's id names what it is about and the day, so it fires once and a moved deadline is
a new timer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from zhongshi_notify.domain import PROVINCE, Audience, Notice
from zhongshi_notify.reminders import TimerKind, timing, window
from zhongshi_notify.tracking import ExpertPanel, Platform, PublicityWindow

SCORING, PUBLICITY, ANNUAL_REPORT, RECTIFICATION = "scoring", "publicity", "annual_report", "rectification"
MonthDay = tuple[int, int]


@dataclass(frozen=True)
class DeadlineTimer:
    """A reminder or escalation of one deadline, addressed to one recipient."""

    kind: TimerKind
    deadline_name: str
    about: tuple[str, ...]  # e.g. (round, expert): with the kind, name and day, the timer's id
    deadline: date
    today: date
    template: str
    recipient: str
    audience: Audience = Audience.OFFICIAL
    facts: dict[str, str] = field(default_factory=dict)
    window: int | None = None
    application_id: str = ""

    @property
    def id(self) -> str:
        parts = [self.kind.value, self.deadline_name, *self.about, self.deadline.isoformat()]
        return ":".join(parts + ([f"{self.window}d"] if self.window is not None else []))

    @property
    def subject(self) -> str:
        return self.about[0]

    def notice(self) -> Notice:
        return Notice(template=self.template, recipient=self.recipient, audience=self.audience,
                      facts={**self.facts, **timing(self.deadline, self.today)}, application_id=self.application_id)


def _named(names: Iterable[str], limit: int = 10) -> str:
    listed = [f"“{n}”" for n in names]
    return "、".join(listed[:limit]) + (f"等{len(listed)}项" if len(listed) > limit else "")


def scoring_due(today: date, panels: Iterable[ExpertPanel], days_before: Sequence[int]) -> list[DeadlineTimer]:
    """Each expert with unscored assignments is reminded before the panels' last day; after it, the province
    is told once per round and day of every assignment still unscored."""
    waiting: dict[tuple[str, str, date], list[ExpertPanel]] = {}
    for panel in panels:
        if panel.open and panel.score_by is not None:
            for expert in panel.unscored:
                waiting.setdefault((panel.round_id, expert, panel.score_by), []).append(panel)
    timers: list[DeadlineTimer] = []
    overdue: dict[tuple[str, date], list[tuple[ExpertPanel, str]]] = {}
    for (round_id, expert, deadline), items in sorted(waiting.items()):
        n = window(today, deadline, days_before)
        if today > deadline:
            overdue.setdefault((round_id, deadline), []).extend((p, expert) for p in items)
        elif n is not None:
            facts = {"round_id": round_id, "count": str(len(items)), "items": _named(p.label for p in items)}
            timers.append(DeadlineTimer(TimerKind.REMINDER, SCORING, (round_id, expert), deadline, today,
                                        "reminder.scoring.expert", expert, Audience.EXPERT, facts, window=n))
    for (round_id, deadline), late in sorted(overdue.items()):
        by_panel: dict[str, list[str]] = {}
        for panel, expert in late:
            by_panel.setdefault(panel.label, []).append(expert)
        listed = "；".join(f"“{label}”（{'、'.join(experts)}）" for label, experts in by_panel.items())
        facts = {"round_id": round_id, "count": str(len(late)), "panels": str(len(by_panel)), "items": listed}
        timers.append(DeadlineTimer(TimerKind.ESCALATION, SCORING, (round_id,), deadline, today,
                                    "escalation.scoring.province", PROVINCE, facts=facts))
    return timers


def publicity_due(today: date, windows: Iterable[PublicityWindow], days_before: Sequence[int]) -> list[DeadlineTimer]:
    """The province is reminded before a round's publicity ends and told, once it has ended, that it can be
    closed — after resolving the objections still pending."""
    timers = []
    for w in windows:
        if not w.open or w.ends_on is None:
            continue
        facts = {"round_id": w.round_id, "items": str(w.items),
                 "objections": f"尚有{w.pending}件异议待处理" if w.pending else "暂无待处理的异议",
                 "next_step": "请先处理异议，再结束公示" if w.pending else "可以结束公示"}
        n = window(today, w.ends_on, days_before)
        if today > w.ends_on:
            timers.append(DeadlineTimer(TimerKind.ESCALATION, PUBLICITY, (w.round_id,), w.ends_on, today,
                                        "escalation.publicity.province", PROVINCE, facts=facts))
        elif n is not None:
            timers.append(DeadlineTimer(TimerKind.REMINDER, PUBLICITY, (w.round_id,), w.ends_on, today,
                                        "reminder.publicity.province", PROVINCE, facts=facts, window=n))
    return timers


def report_due(year: int, due: MonthDay) -> date:
    """The last day to file the report on ``year``: ``due`` (month, day) of the following year."""
    return date(year + 1, *due)


def annual_reports_due(today: date, platforms: Iterable[Platform], due: MonthDay,
                       days_before: Sequence[int]) -> list[DeadlineTimer]:
    """An accredited platform reports on every year from the year of its accreditation: its applicant is
    reminded before each year's report is due; the province is told once per year of the reports overdue.
    A filed report cancels its year's timers; revocation cancels every later one."""
    timers: list[DeadlineTimer] = []
    overdue: dict[tuple[int, date], list[Platform]] = {}
    for p in platforms:
        if not p.active or p.accredited_on is None:
            continue
        for year in range(p.accredited_on.year, today.year + 1):
            deadline = report_due(year, due)
            n = window(today, deadline, days_before)
            if year in p.reports_filed:
                continue
            if today > deadline:
                overdue.setdefault((year, deadline), []).append(p)
            elif n is not None and p.applicant_credit_code:
                facts = {"year": str(year), "platform_name": p.platform_name, "applicant_name": p.applicant_name,
                         "platform_id": p.platform_id}
                timers.append(DeadlineTimer(
                    TimerKind.REMINDER, ANNUAL_REPORT, (p.platform_id, str(year)), deadline, today,
                    "reminder.annual-report.applicant", p.applicant_credit_code, Audience.APPLICANT, facts, n,
                    application_id=p.application_id))
    for (year, deadline), late in sorted(overdue.items()):
        facts = {"year": str(year), "count": str(len(late)), "items": _named(p.platform_name for p in late)}
        timers.append(DeadlineTimer(TimerKind.ESCALATION, ANNUAL_REPORT, (str(year),), deadline, today,
                                    "escalation.annual-report.province", PROVINCE, facts=facts))
    return timers


def rectifications_due(today: date, platforms: Iterable[Platform], days_before: Sequence[int]) -> list[DeadlineTimer]:
    """A platform on warning: its applicant is reminded before the rectification deadline; from the day after,
    while the warning stands, the province is told once per platform to check the rectification (confirm the
    year or revoke). A later evaluation lifts the warning and its timers; revocation ends them."""
    timers: list[DeadlineTimer] = []
    for p in platforms:
        if not p.active or p.rectify_by is None:
            continue
        facts = {"year": str(p.warned_year), "platform_name": p.platform_name, "applicant_name": p.applicant_name,
                 "platform_id": p.platform_id}
        n = window(today, p.rectify_by, days_before)
        if today > p.rectify_by:
            timers.append(DeadlineTimer(TimerKind.ESCALATION, RECTIFICATION, (p.platform_id,), p.rectify_by, today,
                                        "escalation.rectification.province", PROVINCE, facts=facts))
        elif n is not None and p.applicant_credit_code:
            timers.append(DeadlineTimer(
                TimerKind.REMINDER, RECTIFICATION, (p.platform_id,), p.rectify_by, today,
                "reminder.rectification.applicant", p.applicant_credit_code, Audience.APPLICANT, facts, n,
                application_id=p.application_id))
    return timers
