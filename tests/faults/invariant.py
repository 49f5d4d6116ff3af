"""The invariant: every application intake acknowledged ends in its expected final state exactly once — the
right status, every step in intake's timeline once and in order, each event produced once, one registry
entry per accreditation or listing, and the applicant told of each step once on every channel.

Read straight from each service's database (a white-box check): the outboxes are the services' own logs of
what they produced, so a step announced twice shows there even when every consumer deduplicates it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pymongo.database import Database
from zhongshi_contracts.catalog import FULL_TYPES

from zhongshi.demo_data import APPLICANTS, COUNTY_REJECTS, COUNTY_RETURNS, EXCEPTION_REFUSALS
from zhongshi.launcher import SERVICES, service_databases

SCREENED_OUT = {"c1", "c2", "c3", "c4", "c7", "c8", "c9"}
FLAGGED = {"c5", "c6"}
DECISION_STATUS = {"accredit": "proposed_accreditation", "cultivate": "proposed_cultivation",
                   "decline": "review_declined"}
ENTRY_KIND = {"accredit": "platform", "cultivate": "cultivation"}
PER_EXPERT = {"pilot.review.scored", "pilot.review.assignment-declined"}  # several per application by design
# whole events with personal data travel on internal topics (what consumers read), projections on the public one
WHOLE = {m.internal_topic.name: m.topic.name for m in FULL_TYPES if m.internal_topic is not None}
TOLD_TO_APPLICANT = {
    "pilot.application.submitted", "pilot.application.screened", "pilot.application.recommended",
    "pilot.application.returned", "pilot.application.rejected", "pilot.application.forwarded",
    "pilot.application.exception-decided", "pilot.review.decided", "pilot.platform.accredited",
    "pilot.platform.cultivation-listed",
}
S, SC, REC, FWD, EXC, PANEL, DEC = (
    "pilot.application.submitted", "pilot.application.screened", "pilot.application.recommended",
    "pilot.application.forwarded", "pilot.application.exception-decided", "pilot.review.panel-drawn",
    "pilot.review.decided")


@dataclass
class Findings:
    """What the check found; each entry names the application and what is wrong."""

    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    out_of_order: list[str] = field(default_factory=list)
    resent: int = 0  # e-mails sent twice after a crash between the send and its record (at-least-once)
    checked: Counter[str] = field(default_factory=Counter)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.out_of_order)

    def lost_applications(self) -> set[str]:
        return {line.split(":", 1)[0] for line in self.lost}


LISTED = {"accredit": ("accredited", "pilot.platform.accredited"),
          "cultivate": ("cultivation", "pilot.platform.cultivation-listed")}


def expected_path(row: int, decision: str | None, published: bool) -> tuple[str, list[str]]:
    """The final status and the timeline (event types, in order) an application of this sample row ends with;
    ``published``: publicity closed, so the decisions are final and in the registry."""
    _county, name, _platform, _type, _clusters, variant = APPLICANTS[row % len(APPLICANTS)]
    if variant in SCREENED_OUT:
        return "returned", [S, SC]
    if name in COUNTY_RETURNS:
        return "returned", [S, SC, "pilot.application.returned"]
    if name in COUNTY_REJECTS:
        return "rejected", [S, SC, "pilot.application.rejected"]
    exception = [EXC] if variant in FLAGGED else []
    if variant in FLAGGED and name in EXCEPTION_REFUSALS:
        return "declined", [S, SC, REC, FWD, EXC]
    path = [S, SC, REC, FWD, *exception, PANEL, DEC]
    if published and decision in LISTED:
        status, listed = LISTED[decision]
        return status, [*path, listed]
    return DECISION_STATUS.get(decision or "", "expert review, undecided"), path


class Invariant:
    def __init__(self, uris: Mapping[str, str], round_id: str, rows: dict[str, int], *, registry: bool = True) -> None:
        self.uris, self.round_id, self.rows, self.registry = uris, round_id, rows, registry

    def check(self) -> Findings:
        found = Findings()
        with service_databases(self.uris, timeout_ms=10_000) as db:
            produced = self._produced(db, found)
            decisions = {key: json.loads(r["value"])["decision"] for (topic, key), r in produced.items()
                         if topic == DEC}
            mine = {"round_id": self.round_id}
            stored: list[dict[str, Any]] = list(db["intake"].applications.find(mine))
            apps = {a["_id"]: a for a in stored}
            for app_id, row in sorted(self.rows.items()):
                self._application(apps.get(app_id), app_id, row, decisions.get(app_id), found)
            if self.registry:
                self._registry(db["registry"], decisions, found)
            self._notify(db["notify"], apps, produced, found)
        return found

    def _produced(self, db: Mapping[str, Database[Any]], found: Findings) -> dict[tuple[str, str], dict[str, Any]]:
        """Every event each service produced about the round's applications; any produced twice is a duplicate."""
        produced: dict[tuple[str, str], dict[str, Any]] = {}
        for service in SERVICES:
            records = db[service].outbox.find({"key": {"$in": list(self.rows)}})
            for record in records:
                if record["topic"] in WHOLE.values():
                    continue  # a public projection: zhongshi's consumers read the whole event
                topic = WHOLE.get(record["topic"], record["topic"])
                if topic in PER_EXPERT:
                    continue
                key = (topic, record["key"])
                found.checked["events"] += 1
                if key in produced:
                    found.duplicated.append(f"{record['key']}: {service} produced {record['topic']} twice")
                produced[key] = record
        return produced

    def _application(self, app: dict[str, Any] | None, app_id: str, row: int, decision: str | None,
                     found: Findings) -> None:
        found.checked["applications"] += 1
        if app is None:
            found.lost.append(f"{app_id}: acknowledged, unknown to intake")
            return
        status, path = expected_path(row, decision, self.registry)
        if app["status"] != status:
            found.lost.append(f"{app_id}: status {app['status']}, expected {status}")
        seen = [entry["event_type"] for entry in app["timeline"]]
        ids = Counter(entry["event_id"] for entry in app["timeline"])
        if any(n > 1 for n in ids.values()) or len(seen) > len(set(seen)):
            found.duplicated.append(f"{app_id}: timeline {seen}")
        elif set(seen) != set(path):
            found.lost.append(f"{app_id}: timeline {seen}, expected {path}")
        elif seen != path:
            found.out_of_order.append(f"{app_id}: timeline {seen}, expected {path}")

    def _registry(self, db: Any, decisions: dict[str, str], found: Findings) -> None:
        entries = Counter(e["application_id"] for e in db.entries.find({"round_id": self.round_id}))
        kinds = {e["application_id"]: e for e in db.entries.find({"round_id": self.round_id})}
        for app_id, decision in sorted(decisions.items()):
            expected = ENTRY_KIND.get(decision)
            found.checked["registry entries"] += expected is not None
            if entries[app_id] > 1:
                found.duplicated.append(f"{app_id}: {entries[app_id]} registry entries")
            if expected and (app_id not in kinds or kinds[app_id]["kind"] != expected):
                found.lost.append(f"{app_id}: no {expected} entry in the registry for the decision {decision}")
            if not expected and app_id in kinds:
                found.duplicated.append(f"{app_id}: a registry entry for a declined application")
        numbers = Counter(e["certificate_no"] for e in db.entries.find({"certificate_no": {"$ne": None}}))
        found.duplicated += [f"certificate {n}: issued {c} times" for n, c in numbers.items() if c > 1]

    def _notify(self, db: Any, apps: dict[str, dict[str, Any]], produced: dict[tuple[str, str], dict[str, Any]],
                found: Findings) -> None:
        """The applicant is told of each step in the inbox and by e-mail, once; each drawn expert is told."""
        inbox = {m["_id"] for m in db.inbox.find({"application_id": {"$in": list(self.rows)}}, {"_id": 1})}
        sent = {d["_id"]: d["status"] for d in db.deliveries.find({"application_id": {"$in": list(self.rows)}},
                                                                  {"status": 1})}
        for (topic, app_id), record in sorted(produced.items()):
            app = apps.get(app_id)
            if app is None:
                continue
            channels: tuple[str, ...] = ("inbox",)
            if topic in TOLD_TO_APPLICANT:
                recipients, channels = [app["applicant_credit_code"]], ("inbox", "email")
            elif topic == PANEL:
                recipients = json.loads(record["value"])["experts"]
            else:
                continue
            for recipient in recipients:
                for channel in channels:
                    found.checked["notifications"] += 1
                    key = f"{record['_id']}/{recipient}/{channel}"
                    if channel == "inbox" and key not in inbox:
                        found.lost.append(f"{app_id}: no inbox message for {topic} to {recipient}")
                    if channel != "inbox" and sent.get(key) != "sent":
                        found.lost.append(f"{app_id}: {channel} for {topic} {sent.get(key, 'never planned')}")
        pipeline = [{"$match": {"delivery_id": {"$in": list(sent)}, "outcome": "sent"}},
                    {"$group": {"_id": "$delivery_id", "n": {"$sum": 1}}}, {"$match": {"n": {"$gt": 1}}}]
        found.resent = sum(d["n"] - 1 for d in db.delivery_attempts.aggregate(pipeline))
