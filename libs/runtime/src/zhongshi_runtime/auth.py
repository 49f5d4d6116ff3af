"""Who calls (a person acting for one organisation in one role) and role authorization; `oidc` verifies tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import jwt
from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from zhongshi_contracts.reference import hubei_counties

if TYPE_CHECKING:
    from zhongshi_runtime.oidc import Authenticator

PROVINCE_DEPARTMENT = "湖北省经济和信息化厅"


class Role(StrEnum):
    APPLICANT = "applicant"  # 申报主体: organisation = its unified social credit code
    COUNTY_OFFICIAL = "county_official"  # 县市区经信部门: organisation = county-level code
    CITY_OFFICIAL = "city_official"  # 市州经信部门: organisation = city-level code
    PROVINCE_OFFICIAL = "province_official"  # 省经信厅: organisation = "42"
    EXPERT = "expert"  # 评审专家: organisation = expert id
    OPERATOR = "operator"  # 运维: organisation = "*"


OFFICIALS = (Role.COUNTY_OFFICIAL, Role.CITY_OFFICIAL, Role.PROVINCE_OFFICIAL)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a person (``subject``, display ``name``) acting for one ``organisation`` in one ``role``.

    The organisation is a unified social credit code (applicant), a county- or city-level region code
    (officials), "42" (the province), an expert id (expert) or "*" (operator)."""

    subject: str
    role: Role
    organisation: str
    name: str = ""

    def covers_region(self, county_code: str) -> bool:
        """Whether an official's scope includes this county-level region."""
        if self.role is Role.PROVINCE_OFFICIAL:
            return True
        if self.role is Role.COUNTY_OFFICIAL:
            return county_code == self.organisation
        if self.role is Role.CITY_OFFICIAL:
            county = hubei_counties().get(county_code)
            return county is not None and county.city_code == self.organisation
        return False

    def covers_city(self, city_code: str) -> bool:
        """Whether an official's scope reaches into this city-level unit."""
        if self.role is Role.PROVINCE_OFFICIAL:
            return True
        if self.role is Role.CITY_OFFICIAL:
            return city_code == self.organisation
        county = hubei_counties().get(self.organisation)
        return self.role is Role.COUNTY_OFFICIAL and county is not None and county.city_code == city_code


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """FastAPI dependency: the verified caller, or 401. Async, as `require`'s check: FastAPI runs a plain
    function dependency in a worker thread, two thread hand-offs on every request for ~0.1 ms of work."""
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED, "需要有效的身份令牌（Bearer JWT）", headers={"WWW-Authenticate": "Bearer"}
    )
    if credentials is None:
        raise unauthorized
    authenticator: Authenticator = request.app.state.authenticator
    try:
        return await authenticator.verify(credentials.credentials)
    except jwt.PyJWTError as exc:
        raise unauthorized from exc


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """FastAPI dependency factory: the caller, who must hold one of ``roles`` (403 otherwise).

    The roles are the security requirement's scopes, so each operation's OpenAPI entry names who may call it."""

    caller = Security(current_principal, scopes=[role.value for role in roles])

    async def dependency(principal: Principal = caller) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"角色 {principal.role} 无权执行此操作")
        return principal

    return dependency


def shown_actor(viewer: Principal, actor_id: str, role: str, organisation: str) -> str:
    """Who acted, as ``viewer`` may see it: an official's person id for officials and operators, the department's
    name for applicants and experts."""
    if viewer.role in OFFICIALS or viewer.role is Role.OPERATOR:
        return actor_id
    return department_name(role, organisation) if role in Role._value2member_map_ else ""


def department_name(role: Role | str, organisation: str) -> str:
    """The department an official acts for, shown instead of the official's person id (e.g. 武汉市经济和信息化局)."""
    if role == Role.PROVINCE_OFFICIAL:
        return PROVINCE_DEPARTMENT
    counties = hubei_counties()
    if role == Role.COUNTY_OFFICIAL and organisation in counties:
        return f"{counties[organisation].name}经济和信息化局"
    cities = {r.city_code: r.city_name for r in counties.values()}
    if role == Role.CITY_OFFICIAL and organisation in cities:
        return f"{cities[organisation]}经济和信息化局"
    return {Role.EXPERT: "评审专家", Role.OPERATOR: "系统运维", Role.APPLICANT: "申报主体"}.get(Role(role), "")
