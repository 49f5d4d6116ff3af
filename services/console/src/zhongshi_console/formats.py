"""How the console shows things (pure): Chinese dates, yuan, labels, and pydantic's errors in Chinese."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def chinese_date(value: object) -> str:
    """``2026年12月4日`` from a date, a datetime (shown in Asia/Shanghai) or their ISO text; '' when empty."""
    if value in (None, ""):
        return ""
    day = _as_date(value)
    return f"{day.year}年{day.month}月{day.day}日" if day else str(value)


def filesize(value: object) -> str:
    """``1.2 MB``, ``35 KB``, ``512 字节``."""
    size = int(value) if isinstance(value, int | str) and str(value).isdigit() else 0
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} 字节"


def chinese_datetime(value: object) -> str:
    """``2026年12月4日 14:05`` (Asia/Shanghai)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if not isinstance(value, datetime):
        return chinese_date(value)
    local = value.astimezone(SHANGHAI) if value.tzinfo else value
    return f"{chinese_date(local.date())} {local:%H:%M}"


def _as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return (value.astimezone(SHANGHAI) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return _as_date(datetime.fromisoformat(value)) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return None
    return None


def yuan(value: object) -> str:
    """``12,345,678.50 元``; whole amounts without decimals."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return f"{text} 元"


# pydantic v2 error ``type`` → Chinese; {placeholders} are filled from the error's ``ctx``.
PYDANTIC_MESSAGES = {
    "missing": "此项为必填项",
    "string_too_short": "至少填写 {min_length} 个字符",
    "string_too_long": "最多填写 {max_length} 个字符",
    "string_type": "请填写文字",
    "string_pattern_mismatch": "格式不正确",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "int_parsing": "请填写整数",
    "int_type": "请填写整数",
    "int_from_float": "请填写整数",
    "float_parsing": "请填写数字",
    "float_type": "请填写数字",
    "decimal_parsing": "请填写数字金额",
    "decimal_type": "请填写数字金额",
    "decimal_max_places": "小数最多 {decimal_places} 位",
    "decimal_max_digits": "数字最多 {max_digits} 位",
    "greater_than": "必须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "必须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "bool_parsing": "请选择是或否",
    "bool_type": "请选择是或否",
    "date_parsing": "请填写有效日期（年-月-日）",
    "date_from_datetime_parsing": "请填写有效日期（年-月-日）",
    "date_type": "请填写有效日期（年-月-日）",
    "date_future": "日期须晚于今天",
    "date_past": "日期不能晚于今天",
    "datetime_parsing": "请填写有效的日期和时间",
    "enum": "请从列表中选择",
    "literal_error": "请从列表中选择",
    "list_type": "请填写列表",
    "dict_type": "格式不正确",
    "model_type": "格式不正确",
    "url_parsing": "请填写有效网址",
    "value_error": "填写内容不正确",
    "extra_forbidden": "不允许的字段",
    "json_invalid": "格式不正确",
}
CHINESE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def translate(error: Mapping[str, Any]) -> str:
    """One pydantic error in Chinese: the service's own Chinese ``msg`` when it wrote one, else the table."""
    message = str(error.get("msg", ""))
    if CHINESE.search(message):
        return message.removeprefix("Value error, ")  # a validator's own Chinese text
    template = PYDANTIC_MESSAGES.get(str(error.get("type", "")), "填写内容不正确")
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return template


def field_errors(errors: Iterable[Mapping[str, Any]], drop: int = 1) -> dict[str, str]:
    """Errors by field path (``dossier.platform.name``), the location's first ``drop`` parts ("body") removed."""
    found: dict[str, str] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())][drop:]
        found.setdefault(".".join(loc) or "_", translate(error))
    return found
