"""The provider's own pages (Simplified Chinese): the login form and the signed-out page."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

_STYLE = """body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;background:#f3f5f8;margin:0}
main{max-width:360px;margin:12vh auto;background:#fff;padding:32px;border-radius:8px;box-shadow:0 2px 12px #0001}
h1{font-size:20px;margin:0 0 4px}p.sub{color:#667;margin:0 0 24px;font-size:13px}
label{display:block;margin:12px 0 4px;font-size:14px}input{width:100%;box-sizing:border-box;padding:8px;font-size:15px}
button{margin-top:20px;width:100%;padding:10px;font-size:16px;background:#c62f2f;color:#fff;border:0;border-radius:4px}
.error{color:#c62f2f;font-size:14px}.hint{color:#889;font-size:12px;margin-top:16px}"""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style></head>'
            f"<body><main>{body}</main></body></html>")


def login_page(params: Mapping[str, str], error: str = "", username: str = "") -> str:
    """The login form; the authorization request's parameters ride along as hidden fields."""
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in params.items())
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _page("登录 - 湖北省制造业中试平台认定", f"""
<h1>湖北省制造业中试平台认定</h1><p class="sub">统一身份认证（开发环境）</p>{problem}
<form method="post" action="/login">{hidden}
<label for="username">用户名</label><input id="username" name="username" value="{escape(username)}"
 autocomplete="username" required autofocus>
<label for="password">密码</label><input id="password" name="password" type="password"
 autocomplete="current-password" required>
<button type="submit">登录</button></form>
<p class="hint">开发环境演示账号见 docs/security.md（例如 applicant01，密码 zhongshi-demo）。</p>""")


def message_page(title: str, text: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>")
