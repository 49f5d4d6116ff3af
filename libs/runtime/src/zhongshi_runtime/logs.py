"""JSON logs with the event id and application id bound from context, with personal data masked on every
line whoever writes it (`PersonalDataFilter` on the one handler)."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

_context: ContextVar[dict[str, str]] = ContextVar("log_context", default={})  # noqa: B039
_SEP = r"[ \-]?"
# 18-digit resident ID: region, a real birth date, sequence, check (a credit code's digits hold no such date)
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}([0-9Xx])"
                      r"(?![0-9A-Za-z])")
_MOBILE = re.compile(rf"(?<![0-9A-Za-z])(?:\+?86{_SEP})?(1[3-9]\d){_SEP}\d{{4}}{_SEP}(\d{{4}})(?!\d)")
_LANDLINE = re.compile(r"(?<![0-9A-Za-z])(\(0\d{2,3}\)\s?|0\d{2,3}[ \-])\d{3,4}[ \-]?(\d{4})(?!\d)")
_EMAIL = re.compile(r"(?<![\w.+-])([\w+-])[\w.+-]*(@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def mask_personal_data(text: str) -> str:
    """Mask ID-card numbers, mobiles and landlines (with or without spaces and hyphens) and e-mail addresses:
    420111********4, 138****0000, 027-****4321, p***@example.cn."""
    text = _ID_CARD.sub(r"\1********\2", text)
    text = _MOBILE.sub(r"\1****\2", text)
    text = _LANDLINE.sub(r"\1****\2", text)
    return _EMAIL.sub(r"\1***\2", text)


class PersonalDataFilter(logging.Filter):
    """Masks a record's message and traceback before any formatter sees it (one place for every logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_personal_data(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        return True


@contextlib.contextmanager
def bound(**fields: str) -> Iterator[None]:
    """Bind fields (event_id, application_id, ...) to every log line inside the block."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            **_context.get(),
        }
        if record.exc_text or record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str) -> logging.Logger:
    """Route the root logger to stdout as JSON lines."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "pymongo", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for own in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # uvicorn's default config gives these handlers
        logger = logging.getLogger(own)  # of their own, unmasked: route them through ours
        logger.handlers.clear()
        logger.propagate = True
    return logging.getLogger(f"zhongshi.{service}")
