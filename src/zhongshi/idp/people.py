"""The development provider's demo people (one or more for every role of the sample round) and its clients."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import cache

from zhongshi_contracts.reference import hubei_cities, hubei_counties
from zhongshi_runtime.auth import Role, department_name

from zhongshi.demo_data import APPLICANTS, GIVEN, SURNAMES, applicant_credit_code

DEMO_PASSWORD = "zhongshi-demo"  # noqa: S105 - documented in docs/security.md; this provider never runs in production
EXPERTS = 44  # the sample round's pool (zhongshi.demo_review.expert_pool)
_NAMESPACE = uuid.UUID("5b0c3a52-6f0e-4d8e-9a55-7a1f0c2d4e11")
_LOCAL = r"http://(127\.0\.0\.1|localhost)(:\d{1,5})?"


@dataclass(frozen=True)
class Person:
    """Someone who can log in: a person acting for one organisation in one role."""

    username: str
    name: str
    role: Role
    organisation: str
    organisation_name: str
    sub: str = ""

    @property
    def subject(self) -> str:
        """A stable, opaque id per login (as Keycloak's user ids are), unless one was given."""
        return self.sub or str(uuid.uuid5(_NAMESPACE, self.username))


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    grants: frozenset[str]
    redirect_pattern: str = ""  # full-match regex for redirect URIs
    logout_pattern: str = ""  # full-match regex for post-logout redirect URIs

    def redirect_allowed(self, uri: str) -> bool:
        return bool(self.redirect_pattern) and re.fullmatch(self.redirect_pattern, uri) is not None

    def logout_allowed(self, uri: str) -> bool:
        return bool(self.logout_pattern) and re.fullmatch(self.logout_pattern, uri) is not None


CLIENTS = {
    c.client_id: c for c in (
        Client("zhongshi-console", "zhongshi-console-dev-secret",
               frozenset({"authorization_code", "refresh_token"}),
               redirect_pattern=_LOCAL + r"/auth/callback", logout_pattern=_LOCAL + r"(/[^?#]*)?"),
        Client("zhongshi-cli", "zhongshi-cli-dev-secret",
               frozenset({"password", "client_credentials", "refresh_token"})),
    )
}


def _name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 3 + 1) % len(GIVEN)]


@cache
def demo_people() -> dict[str, Person]:
    """Every demo login by username."""
    people = [Person(f"applicant{i + 1:02d}", _name(i), Role.APPLICANT, applicant_credit_code(i), row[1])
              for i, row in enumerate(APPLICANTS)]
    people.append(Person("applicant01b", "李娜", Role.APPLICANT, applicant_credit_code(0), APPLICANTS[0][1]))
    for n, code in enumerate(sorted(hubei_counties())):
        people.append(Person(f"county{code}", _name(n + 40), Role.COUNTY_OFFICIAL, code,
                             department_name(Role.COUNTY_OFFICIAL, code)))
    for n, code in enumerate(sorted(hubei_cities())):
        people.append(Person(f"city{code}", _name(n + 7), Role.CITY_OFFICIAL, code,
                             department_name(Role.CITY_OFFICIAL, code)))
    province = department_name(Role.PROVINCE_OFFICIAL, "42")
    people += [Person(f"province0{k}", name, Role.PROVINCE_OFFICIAL, "42", province)
               for k, name in ((1, "周建华"), (2, "陈思远"))]
    people += [Person(f"expert{i + 1:03d}", SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)], Role.EXPERT,
                      f"E{i + 1:03d}", "评审专家") for i in range(EXPERTS)]
    people.append(Person("operator", "运维值班员", Role.OPERATOR, "*", "系统运维"))
    return {p.username: p for p in people}


def first_person(role: Role, organisation: str) -> Person | None:
    """The first demo person acting for ``organisation`` in ``role`` (the demo loader acts as them)."""
    return next((p for p in demo_people().values() if p.role is role and p.organisation == organisation), None)


def service_identity(role: Role, organisation: str, subject: str | None) -> Person:
    """A machine identity for a role and organisation no demo person holds (tests' random enterprises)."""
    sub = subject or f"svc:{role.value}:{organisation}"
    return Person(sub, "", role, organisation, department_name(role, organisation), sub)


def highlights() -> list[Person]:
    """A few logins `zhongshi up` prints, one or two per role."""
    people = demo_people()
    return [people[u] for u in ("applicant01", "applicant01b", "applicant05", "county420111", "city420100",
                                "province01", "expert001", "operator")]
