"""One application's audit trail across the five services, in time order.

Each service keeps its own audit records in its own database; the trail asks each service's
`GET /api/v1/audit?application_id=` with the caller's token (province official or operator) and merges the
answers by time. No service reads another's database; the web console calls the same function."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx
from zhongshi_runtime.audit import AuditRecord
from zhongshi_runtime.clock import SHANGHAI

PAGE = 500  # the audit API's largest page


class TrailUnavailable(Exception):
    """A service did not answer: a trail without its records would look complete and be wrong."""


async def service_records(http: httpx.AsyncClient, service: str, base_url: str, token: str,
                          application_id: str) -> list[AuditRecord]:
    """Every audit record of one service that touched the application (all pages)."""
    records: list[AuditRecord] = []
    while True:
        try:
            response = await http.get(f"{base_url}/api/v1/audit", headers={"Authorization": f"Bearer {token}"},
                                      params={"application_id": application_id, "offset": len(records),
                                              "limit": PAGE})
        except httpx.HTTPError as exc:
            raise TrailUnavailable(f"{service}: {exc!r}") from exc
        if response.status_code != 200:
            raise TrailUnavailable(f"{service}: HTTP {response.status_code} {response.text[:200]}")
        page = response.json()
        records += [AuditRecord.model_validate(item) for item in page["items"]]
        if not page["items"] or len(records) >= page["total"]:
            return records


def in_time_order(records: list[AuditRecord]) -> list[AuditRecord]:
    """Oldest first; records of one millisecond by their write order (nanoseconds), then by service."""
    return sorted(records, key=lambda r: (r.at, r.seq, r.service))


async def application_trail(urls: Mapping[str, str], token: str, application_id: str,
                            http: httpx.AsyncClient | None = None) -> list[AuditRecord]:
    """The application's trail from every service in ``urls`` (name → base URL), oldest first."""
    if http is None:
        async with httpx.AsyncClient(timeout=10) as client:
            return await application_trail(urls, token, application_id, client)
    pages = await asyncio.gather(*(service_records(http, name, url, token, application_id)
                                   for name, url in urls.items()))
    return in_time_order([r for page in pages for r in page])


def describe(record: AuditRecord) -> str:
    """One line of the trail for a terminal (Asia/Shanghai time)."""
    who = f"{record.actor_name or record.actor_subject} ({record.actor_subject}; {record.actor_role} " \
          f"{record.actor_organisation})"
    why = f" — {record.reason}" if record.reason else ""
    return (f"{record.at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S} {record.service:<9} {record.action:<28} "
            f"{record.target_kind} {record.target_id} → {record.outcome}  by {who}{why}")
