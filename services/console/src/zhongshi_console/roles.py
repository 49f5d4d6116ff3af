"""Each role's menu and the guard that shows a page only to its roles (anyone else gets the 404 page)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from zhongshi_runtime.auth import Role

from zhongshi_console.auth import LoginRequired, PageNotFound, User, access_token, asked_path, current_user

ROLE_LABELS = {Role.APPLICANT: "申报主体", Role.COUNTY_OFFICIAL: "县市区经信部门", Role.CITY_OFFICIAL: "市州经信部门",
               Role.PROVINCE_OFFICIAL: "省经信厅", Role.EXPERT: "评审专家", Role.OPERATOR: "运维人员"}

PUBLIC_MENU = (("中试平台名录", "/registry"), ("证书查验", "/verify"), ("公示公告", "/publicity"),
               ("建设进展", "/progress"))
DEPARTMENT_MENU = (("待办审核", "/official/queue"),)
MENUS: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.APPLICANT: (("我的申报", "/applicant"), ("申报批次", "/applicant/rounds"), ("消息中心", "/applicant/inbox")),
    Role.COUNTY_OFFICIAL: DEPARTMENT_MENU,
    Role.CITY_OFFICIAL: (*DEPARTMENT_MENU, ("推荐排序与指标", "/official/round")),
    Role.PROVINCE_OFFICIAL: (("例外认定", "/official/queue"), ("批次管理", "/province/rounds"),
                             ("专家库", "/province/experts"), ("平台管理", "/province/platforms"),
                             ("审计留痕", "/province/audit")),
    Role.EXPERT: (("评审任务", "/expert/assignments"),),
    Role.OPERATOR: (("消息订阅", "/operator/webhooks"), ("死信队列", "/operator/dlq")),
}


@dataclass(frozen=True)
class Caller:
    """A signed-in user on a page of their role, with the token to call the services."""

    user: User
    token: str


def signed_in(*roles: Role) -> Callable[[Request], Awaitable[Caller]]:
    """Page dependency: log in first when needed; a user of another role gets the 404 page, not a 403, so
    that pages of other scopes are not even revealed to exist."""

    async def dependency(request: Request) -> Caller:
        user = current_user(request)
        if user is None:
            raise LoginRequired(asked_path(request))
        if user.role not in roles:
            raise PageNotFound
        return Caller(user, await access_token(request))

    return dependency


def home_of(user: User | None) -> str:
    return MENUS[user.role][0][1] if user else "/"
