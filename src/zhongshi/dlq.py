"""`zhongshi dlq`: the dead letters of every service's consumer group, through each service's operator API
(`/api/v1/dlq`), so the CLI and the console see and do the same as an operator's HTTP call — and every
redrive is audited by the service with the operator's name."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx


class DlqUnavailable(Exception):
    """A service did not answer."""


def filters(topic: str | None, reason: str | None, since: datetime | None, until: datetime | None,
            status: str | None = None) -> dict[str, str]:
    given = {"topic": topic, "reason": reason, "status": status,
             "since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
    return {k: v for k, v in given.items() if v}


async def _call(http: httpx.AsyncClient, service: str, method: str, url: str, token: str,
                params: Mapping[str, str] | None = None) -> Any:
    try:
        response = await http.request(method, url, params=params, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise DlqUnavailable(f"{service}: {exc!r}") from exc
    if response.status_code >= 400:
        raise DlqUnavailable(f"{service}: HTTP {response.status_code} {response.text[:300]}")
    return response.json()


async def listing(urls: Mapping[str, str], token: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every matching entry of every service (name → base URL), oldest first, each with its service."""
    async with httpx.AsyncClient(timeout=30) as http:
        pages = await asyncio.gather(*(_call(http, name, "GET", f"{url}/api/v1/dlq", token,
                                             {**params, "limit": "500"}) for name, url in urls.items()))
    entries = [{**item, "service": name} for name, page in zip(urls, pages, strict=True) for item in page["items"]]
    return sorted(entries, key=lambda e: e["failed_at"])


async def show(url: str, service: str, token: str, entry_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        return dict(await _call(http, service, "GET", f"{url}/api/v1/dlq/{entry_id}", token))


async def redrive(urls: Mapping[str, str], token: str, params: Mapping[str, str],
                  entry_id: str | None = None) -> dict[str, list[str]]:
    """Redrive one entry (on the services in ``urls``) or every dead entry matching ``params``."""
    async with httpx.AsyncClient(timeout=60) as http:
        path = f"/api/v1/dlq/{entry_id}/redrive" if entry_id else "/api/v1/dlq/redrive"
        done = await asyncio.gather(*(_call(http, name, "POST", url + path, token, None if entry_id else params)
                                      for name, url in urls.items()))
    return {name: answer["redriven"] for name, answer in zip(urls, done, strict=True)}


def describe(entry: Mapping[str, Any]) -> str:
    """One line per entry for a terminal."""
    return (f"{entry['service']:<10} {entry['id']:<48} {entry['status']:<8} {entry['kind']:<8} "
            f"{entry['failed_at'][:19]}  {entry['subject'] or '-'}  {entry['reason'][:80]}")
