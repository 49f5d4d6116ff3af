from datetime import UTC, date, datetime
from typing import Any

from zhongshi_console.charts import Bar, bar_chart
from zhongshi_console.formats import chinese_date, chinese_datetime, field_errors, translate, yuan


def test_dates_are_written_the_chinese_way_in_shanghai_time() -> None:
    assert chinese_date(date(2026, 12, 4)) == "2026年12月4日"
    assert chinese_date("2026-01-09") == "2026年1月9日"
    # 16:30 UTC on the 3rd is already the 4th in Shanghai
    assert chinese_date(datetime(2026, 12, 3, 16, 30, tzinfo=UTC)) == "2026年12月4日"
    assert chinese_datetime("2026-12-03T16:30:00+00:00") == "2026年12月4日 00:30"
    assert chinese_date(None) == ""


def test_money_is_yuan_with_thousands_separators() -> None:
    assert yuan("12345678") == "12,345,678 元"
    assert yuan("1234.5") == "1,234.50 元"
    assert yuan(None) == ""


def test_pydantic_messages_become_chinese_with_their_limits() -> None:
    assert translate({"type": "string_too_short", "msg": "String should have at least 10 characters",
                      "ctx": {"min_length": 10}}) == "至少填写 10 个字符"
    assert translate({"type": "missing", "msg": "Field required"}) == "此项为必填项"
    assert translate({"type": "greater_than_equal", "msg": "Input should be ...", "ctx": {"ge": 0}}) == "不能小于 0"
    # a service's own Chinese message is kept, without pydantic's English prefix
    assert translate({"type": "value_error", "msg": "Value error, 日期不在 2027 年"}) == "日期不在 2027 年"
    assert translate({"type": "something_new", "msg": "Input should be odd"}) == "填写内容不正确"


def test_field_errors_are_keyed_by_the_field_path_without_body() -> None:
    errors: list[dict[str, Any]] = [
              {"loc": ["body", "contact"], "type": "string_too_short", "msg": "x", "ctx": {"min_length": 5}},
              {"loc": ["body", "dossier", "platform", "name"], "type": "missing", "msg": "Field required"}]
    assert field_errors(errors) == {"contact": "至少填写 5 个字符", "dossier.platform.name": "此项为必填项"}


def test_bar_chart_draws_one_bar_per_value_with_its_label() -> None:
    svg = bar_chart("按市州", [Bar("武汉市", 5), Bar("<黄石>", 0)], target=10)
    assert svg.count('class="chart-bar"') == 2
    assert "武汉市" in svg and "&lt;黄石&gt;" in svg and "目标 10" in svg
