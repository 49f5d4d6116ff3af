"""Every log line, whoever writes it, is masked: ID-card numbers, mobiles and landlines however written,
e-mail addresses (issue 18, item 14)."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest
import uvicorn.config
from zhongshi_runtime.logs import configure_logging, mask_personal_data

PERSONAL = {
    "420111199001011234": "身份证号", "42011119900101123X": "身份证号（X）", "13802710000": "手机",
    "138 0271 0000": "手机（空格）", "138-0271-0000": "手机（连字符）", "+86 138 0271 0000": "手机（国际）",
    "027-87654321": "座机", "(027) 8765 4321": "座机（括号）", "0710-3456789": "座机（四位区号）",
    "zhang.san@example.cn": "邮箱",
}
KEPT = ["91420111MA0000000W", "914201117000000001", "A20261127-6fcda1ef", "2026-11-27T02:00:00+00:00",
        "R2026-01", "420111", "https://gov.example/hook", "共 12345 条"]


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """Where the service's one log handler writes (the root logger is restored afterwards)."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)  # as a uvicorn started earlier leaves it (any order)
    configure_logging("test", "INFO")
    out = io.StringIO()
    root.handlers[0].setStream(out)  # type: ignore[attr-defined]
    try:
        yield out
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


@pytest.mark.parametrize("value", sorted(PERSONAL))
def test_personal_data_is_masked_however_it_is_written(value: str) -> None:
    masked = mask_personal_data(f"联系方式：{value}。")
    assert value not in masked and "*" in masked, masked


@pytest.mark.parametrize("value", KEPT)
def test_codes_ids_times_and_urls_are_left_readable(value: str) -> None:
    assert mask_personal_data(f"见 {value} 。") == f"见 {value} 。"


def test_every_logger_and_traceback_is_masked(service_log: io.StringIO) -> None:
    text = "；".join(PERSONAL)
    logging.getLogger("uvicorn.error").warning("third party: %s", text)
    logging.getLogger("zhongshi.test").info("ours: " + text)
    try:
        raise ValueError(text)
    except ValueError:
        logging.getLogger("some.library").exception("failed")
    lines = [json.loads(line) for line in service_log.getvalue().splitlines()]
    logged = json.dumps(lines, ensure_ascii=False)
    assert len(lines) == 3 and "exception" in lines[2] and not [v for v in PERSONAL if v in logged], logged
