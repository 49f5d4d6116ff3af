"""The access matrix: every endpoint of every service, who may call it, and what everyone else gets.

Callers are named relative to the row's record (see `world.py`): its own applicant, county, city and
assigned expert, the same roles for another applicant / county (same city) / city / expert, the province,
an operator and anonymous. A row lists only what differs from the default — 401 for anonymous, 403 for every
other caller. ``HIDDEN`` is a 200 whose body must not contain the record (a list filtered to one's scope);
a 200 on a list row must contain it. A 409 for the one allowed caller means access was granted and the
record's state refused the action (the row says why)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

AN, A, OA = "anonymous", "applicant", "other_applicant"
CO, OCO, CI, OCI = "county", "other_county", "city", "other_city"
PR, EX, OEX, OP = "province", "expert", "other_expert", "operator"
CALLERS = (AN, A, OA, CO, OCO, CI, OCI, PR, EX, OEX, OP)
HIDDEN = "hidden"

Expect = int | str


@dataclass(frozen=True)
class Row:
    service: str
    method: str
    path: str  # exactly as in the service's OpenAPI document
    expect: Mapping[str, Expect]
    args: dict[str, str] = field(default_factory=dict)  # path parameter → world record (or a literal)
    query: dict[str, str] = field(default_factory=dict)
    body: str | None = None  # the name of a request body the world builds
    record: str = "read"  # whose applicant / county / city / expert the relative callers are
    see: str | None = None  # the record a 200 must show and HIDDEN must not

    def expected(self, caller: str) -> Expect:
        return self.expect.get(caller, 401 if caller == AN else 403)

    @property
    def id(self) -> str:
        return f"{self.service} {self.method} {self.path}"


def signed_in(status: Expect, **overrides: Expect) -> dict[str, Expect]:
    return {**{c: status for c in CALLERS if c != AN}, **overrides}


def everyone(status: Expect) -> dict[str, Expect]:
    return {c: status for c in CALLERS}


OFFICIALS_200 = {CO: 200, CI: 200, PR: 200}
IN_SCOPE = {A: 200, OA: 404, CO: 200, OCO: 404, CI: 200, OCI: 404, PR: 200}
LISTED: dict[str, Expect] = {A: 200, OA: HIDDEN, CO: 200, OCO: HIDDEN, CI: 200, OCI: HIDDEN, PR: 200}
APP = {"application_id": "read"}
MATERIALS = {**IN_SCOPE, EX: 200, OEX: 404, OP: 404}  # on r1: its panel's lead may read, another expert not

TABLE: list[Row] = [
    # ---- intake ----
    Row("intake", "GET", "/api/v1/rule-sets", signed_in(200)),
    Row("intake", "GET", "/api/v1/rounds", signed_in(200)),
    Row("intake", "POST", "/api/v1/rounds", {PR: 201}, body="new_round"),
    Row("intake", "GET", "/api/v1/rounds/{round_id}", signed_in(200), args={"round_id": "round"}),
    Row("intake", "POST", "/api/v1/applications", {A: 201, OA: 403}, body="new_application"),
    Row("intake", "GET", "/api/v1/applications", LISTED, query={"round_id": "round"}, see="read"),
    Row("intake", "PATCH", "/api/v1/applications/{application_id}", {A: 200, OA: 404},
        args={"application_id": "draft"}, body="patch"),
    Row("intake", "GET", "/api/v1/applications/{application_id}", IN_SCOPE, args=APP),
    Row("intake", "POST", "/api/v1/applications/{application_id}/submit", {A: 200, OA: 404},
        args={"application_id": "to_submit"}),
    Row("intake", "POST", "/api/v1/applications/{application_id}/withdraw", {A: 200, OA: 404},
        args={"application_id": "to_withdraw"}, body="reason"),
    Row("intake", "POST", "/api/v1/applications/{application_id}/materials", {A: 201, OA: 404},
        args={"application_id": "draft"}, body="material"),
    Row("intake", "GET", "/api/v1/applications/{application_id}/materials", MATERIALS, args={"application_id": "r1"},
        record="r1", see="r1_material"),
    Row("intake", "GET", "/api/v1/applications/{application_id}/materials/{material_id}", MATERIALS,
        args={"application_id": "r1", "material_id": "r1_material"}, record="r1"),
    Row("intake", "GET", "/api/v1/applications/{application_id}/form.pdf", MATERIALS, args={"application_id": "r1"},
        record="r1"),
    Row("intake", "DELETE", "/api/v1/applications/{application_id}", {A: 200, OA: 404},
        args={"application_id": "to_delete"}),
    # ---- screening ----
    Row("screening", "GET", "/api/v1/rule-sets", signed_in(200)),
    Row("screening", "POST", "/api/v1/rule-sets", {PR: 201}, body="new_rule_set"),
    Row("screening", "GET", "/api/v1/rule-sets/{version}", signed_in(200), args={"version": "rule_set"}),
    Row("screening", "POST", "/api/v1/eligibility/check",
        {A: 200, OA: 200, CO: 200, OCO: 200, CI: 200, OCI: 200, PR: 200}, body="check"),
    Row("screening", "GET", "/api/v1/screenings/{application_id}", signed_in(404, **IN_SCOPE), args=APP),
    Row("screening", "GET", "/api/v1/queues/{level}", {CO: 200, OCO: HIDDEN, CI: 200, OCI: HIDDEN, PR: 200},
        args={"level": "county"}, query={"round_id": "round"}, see="read"),
    Row("screening", "GET", "/api/v1/cases/{application_id}", IN_SCOPE, args=APP),
    Row("screening", "POST", "/api/v1/applications/{application_id}/recommend",
        {CO: 200, OCO: 404, CI: 403, OCI: 404}, args={"application_id": "c_rec"}, body="opinion", record="c_rec"),
    Row("screening", "POST", "/api/v1/applications/{application_id}/forward",
        {CI: 200, OCI: 404, CO: 403, OCO: 404}, args={"application_id": "c_fwd"}, body="opinion", record="c_fwd"),
    Row("screening", "POST", "/api/v1/applications/{application_id}/return",
        {CO: 200, OCO: 404, CI: 403, OCI: 404}, args={"application_id": "c_ret"}, body="opinion", record="c_ret"),
    Row("screening", "PUT", "/api/v1/rounds/{round_id}/priorities", {CI: 200, CO: 403, OCO: 404, OCI: 404},
        args={"round_id": "round"}, body="priorities", record="c_rej"),
    Row("screening", "POST", "/api/v1/applications/{application_id}/reject",
        {CI: 200, CO: 403, OCO: 404, OCI: 404}, args={"application_id": "c_rej"}, body="opinion", record="c_rej"),
    Row("screening", "POST", "/api/v1/applications/{application_id}/exception-decision", {PR: 200},
        args={"application_id": "c_exc"}, body="exception", record="c_exc"),
    Row("screening", "PUT", "/api/v1/rounds/{round_id}/settings", {PR: 200}, args={"round_id": "round"},
        body="chain_settings"),
    Row("screening", "PATCH", "/api/v1/rounds/{round_id}/settings", {PR: 200}, args={"round_id": "round"},
        body="chain_settings_part"),
    Row("screening", "GET", "/api/v1/rounds/{round_id}/settings", {**OFFICIALS_200, OCO: 200, OCI: 200},
        args={"round_id": "round"}),
    Row("screening", "GET", "/api/v1/rounds/{round_id}/progress", {**OFFICIALS_200, OCO: 200, OCI: HIDDEN},
        args={"round_id": "round"}, see="city_code"),  # a county official sees its city's counts
    # ---- review ----
    Row("review", "PUT", "/api/v1/experts/{expert_id}", {PR: 200}, args={"expert_id": "new_expert_id"},
        body="new_expert"),
    Row("review", "GET", "/api/v1/experts/{expert_id}", {PR: 200}, args={"expert_id": "lead"}),
    Row("review", "GET", "/api/v1/experts", {PR: 200}),
    Row("review", "POST", "/api/v1/experts/import", {PR: 200}, query={"filename": "pool.csv"}, body="expert_csv"),
    Row("review", "PUT", "/api/v1/rounds/{round_id}/review-settings", {PR: 200}, args={"round_id": "round"},
        body="review_settings"),
    Row("review", "GET", "/api/v1/rounds/{round_id}/review-settings", {PR: 200, EX: 200, OEX: 200},
        args={"round_id": "round"}),
    Row("review", "POST", "/api/v1/rounds/{round_id}/draw-commitment", {PR: 409},  # committed before the draw
        args={"round_id": "round"}),
    Row("review", "GET", "/api/v1/rounds/{round_id}/draw-commitment", {PR: 200, EX: 200, OEX: 200},
        args={"round_id": "round"}),
    Row("review", "POST", "/api/v1/rounds/{round_id}/panels", {PR: 200}, args={"round_id": "round"}, body="draw"),
    Row("review", "GET", "/api/v1/panels/{application_id}", {PR: 200}, args={"application_id": "r1"}),
    Row("review", "POST", "/api/v1/panels/{application_id}/top-up", {PR: 409},  # r1's panel is full
        args={"application_id": "r1"}),
    Row("review", "GET", "/api/v1/panels/{application_id}/verification", {PR: 200}, args={"application_id": "r1"}),
    Row("review", "GET", "/api/v1/assignments", {EX: 200, OEX: HIDDEN}, record="r1", see="r1"),
    Row("review", "GET", "/api/v1/assignments/{application_id}", {EX: 200, OEX: 404},
        args={"application_id": "r1"}, record="r1"),
    Row("review", "POST", "/api/v1/assignments/{application_id}/score", {EX: 200, OEX: 404},
        args={"application_id": "r1"}, body="sheet", record="r1"),
    Row("review", "POST", "/api/v1/assignments/{application_id}/reconcile", {EX: 200, OEX: 404},
        args={"application_id": "r1"}, body="note", record="r1"),  # the lead, whose sheet (above) diverges
    Row("review", "POST", "/api/v1/assignments/{application_id}/decline", {EX: 200, OEX: 404},
        args={"application_id": "r2"}, body="reason", record="r2"),
    Row("review", "POST", "/api/v1/applications/{application_id}/inspection", {PR: 200},
        args={"application_id": "r1"}, body="inspection"),
    Row("review", "POST", "/api/v1/rounds/{round_id}/overrides/{application_id}", {PR: 200},
        args={"round_id": "round", "application_id": "r1"}, body="override"),
    Row("review", "GET", "/api/v1/rounds/{round_id}/proposal", {PR: 200}, args={"round_id": "round"}),
    Row("review", "POST", "/api/v1/rounds/{round_id}/confirm", {PR: 409},  # r2's panel is not complete
        args={"round_id": "round"}),
    # ---- registry: public (no login), publicity, lifecycle, exports ----
    Row("registry", "GET", "/api/v1/public/platforms", everyone(200), see="platform"),
    Row("registry", "GET", "/api/v1/public/platforms/{platform_id}", everyone(200), args={"platform_id": "platform"}),
    Row("registry", "GET", "/api/v1/public/stats", everyone(200)),
    Row("registry", "GET", "/api/v1/public/certificates/{number}", everyone(200), args={"number": "certificate"}),
    Row("registry", "GET", "/api/v1/public/certificates/{number}.pdf", everyone(200), args={"number": "certificate"}),
    Row("registry", "GET", "/api/v1/public/certificate-verification", everyone(200), query={"c": "qr_c", "s": "qr_s"}),
    Row("registry", "GET", "/api/v1/public/certificates-key", everyone(200)),
    Row("registry", "POST", "/api/v1/public/certificates/verify", everyone(200), body="certificate"),
    Row("registry", "GET", "/api/v1/dev/clock", {PR: 200}),
    Row("registry", "PUT", "/api/v1/dev/clock", {PR: 200}, body="today"),
    Row("registry", "POST", "/api/v1/rounds/{round_id}/publicity", {PR: 409},  # already in publicity
        args={"round_id": "round"}, body="open_publicity"),
    Row("registry", "GET", "/api/v1/calendar/{year}", {PR: 200}, args={"year": "2026"}),  # installed
    Row("registry", "PUT", "/api/v1/calendar/{year}", {PR: 200}, args={"year": "2100"}, body="holiday_notice"),
    Row("registry", "GET", "/api/v1/public/publicity/{round_id}", everyone(200), args={"round_id": "round"}),
    Row("registry", "POST", "/api/v1/publicity/{round_id}/objections", signed_in(201), args={"round_id": "round"},
        body="objection"),  # anyone logged in (or with a contact verified by notify); anonymous: 401
    Row("registry", "GET", "/api/v1/rounds/{round_id}/objections", {PR: 200}, args={"round_id": "round"}),
    Row("registry", "POST", "/api/v1/objections/{objection_id}/resolve", {PR: 200},
        args={"objection_id": "objection"}, body="resolution"),
    Row("registry", "POST", "/api/v1/rounds/{round_id}/objections/resolve", {PR: 409},  # resolved by the row above
        args={"round_id": "round"}, body="bulk_resolution"),
    Row("registry", "POST", "/api/v1/rounds/{round_id}/publicity/close", {PR: 409},  # the window is not over
        args={"round_id": "round"}),
    Row("registry", "POST", "/api/v1/platforms/{platform_id}/annual-reports", {A: 201, OA: 403},
        args={"platform_id": "platform"}, body="annual_report"),  # entries are public: 403, not 404
    Row("registry", "GET", "/api/v1/platforms/{platform_id}/annual-reports", {A: 200, OA: 403, PR: 200},
        args={"platform_id": "platform"}),
    Row("registry", "POST", "/api/v1/platforms/{platform_id}/evaluations/{year}", {PR: 200},
        args={"platform_id": "platform", "year": "last_year"}, body="evaluation"),
    Row("registry", "POST", "/api/v1/platforms/{platform_id}/national-recommendation", {PR: 200},
        args={"platform_id": "platform"}, body="national"),
    Row("registry", "PUT", "/api/v1/platforms/{platform_id}/national-recommendation/outcome", {PR: 200},
        args={"platform_id": "platform"}, body="national_outcome"),
    Row("registry", "POST", "/api/v1/platforms/{platform_id}/revoke", {PR: 200}, args={"platform_id": "platform"},
        body="reason"),
    Row("registry", "GET", "/api/v1/exports/platforms.{fmt}", {PR: 200, CI: 200, OCI: HIDDEN}, args={"fmt": "csv"},
        see="platform"),
    Row("registry", "GET", "/api/v1/exports/rounds/{round_id}/results.{fmt}", {PR: 200, CI: 200, OCI: 200},
        args={"round_id": "round", "fmt": "csv"}),
    Row("registry", "GET", "/api/v1/exports/annual-reports/{year}.{fmt}", {PR: 200, CI: 200, OCI: HIDDEN},
        args={"year": "last_year", "fmt": "csv"}, see="platform"),
    # ---- notify ----
    Row("notify", "GET", "/api/v1/inbox", signed_in(HIDDEN, **{A: 200}), see="message"),
    Row("notify", "POST", "/api/v1/inbox/{message_id}/read", signed_in(404, **{A: 200}),
        args={"message_id": "message"}),
    Row("notify", "GET", "/api/v1/preferences", signed_in(200, **{OP: 403})),
    Row("notify", "PUT", "/api/v1/preferences", signed_in(200, **{OP: 403}), body="preferences"),
    Row("notify", "PUT", "/api/v1/contacts/{scope}", {PR: 200, OP: 200}, args={"scope": "county_code"},
        body="contact"),
    Row("notify", "GET", "/api/v1/contacts/{scope}", {PR: 200, OP: 200}, args={"scope": "county_code"}),
    Row("notify", "POST", "/api/v1/public/contact-verifications", everyone(409),  # no SMS gateway in the stack
        body="sms_verification"),
    Row("notify", "POST", "/api/v1/public/contact-verifications/{verification_id}/confirm", everyone(409),
        args={"verification_id": "V-unknown"}, body="verification_code"),
    Row("notify", "GET", "/api/v1/webhooks", {OP: 200}),
    Row("notify", "POST", "/api/v1/webhooks", {OP: 201}, body="webhook"),
    Row("notify", "POST", "/api/v1/webhooks/{subscription_id}/enable", {OP: 200},
        args={"subscription_id": "webhook"}),
    Row("notify", "GET", "/api/v1/webhooks/{subscription_id}/deliveries", {OP: 200},
        args={"subscription_id": "webhook"}),
    Row("notify", "POST", "/api/v1/webhooks/{subscription_id}/rotate-secret", {OP: 200},
        args={"subscription_id": "webhook"}),
    Row("notify", "DELETE", "/api/v1/webhooks/{subscription_id}", {OP: 200}, args={"subscription_id": "webhook"}),
    # ---- audit (every service: the runtime kit adds it) ----
    *[Row(service, "GET", "/api/v1/audit", {PR: 200, OP: 200}, query={"application_id": "read"})
      for service in ("intake", "screening", "review", "registry", "notify")],
    *[Row(service, "GET", "/api/v1/audit/export", {PR: 200, OP: 200}, query={"format": "csv"})
      for service in ("intake", "screening", "review", "registry", "notify")],
    # ---- dead letters (every service: the runtime kit adds them; operators only) ----
    *[row for service in ("intake", "screening", "review", "registry", "notify") for row in (
        Row(service, "GET", "/api/v1/dlq", {OP: 200}),
        Row(service, "GET", "/api/v1/dlq/{entry_id}", {OP: 200}, args={"entry_id": "dead_letter"}),
        Row(service, "POST", "/api/v1/dlq/{entry_id}/redrive", {OP: 409}, args={"entry_id": "dead_letter"}),
        Row(service, "POST", "/api/v1/dlq/redrive", {OP: 200}, query={"topic": "none"}))],
]
