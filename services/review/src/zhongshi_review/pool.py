"""The expert pool (专家库): experts, their relations for conflict checks, and bulk import."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from zhongshi_contracts.dossier import CreditCode
from zhongshi_contracts.names import Name
from zhongshi_contracts.reference import Cluster, hubei_cities, hubei_counties


class RelationKind(StrEnum):
    EMPLOYMENT = "employment"  # 任职
    SHAREHOLDING = "shareholding"  # 持股
    COLLABORATION = "collaboration"  # 合作


class Relation(BaseModel):
    """An organisation the expert worked for, holds shares in or collaborated with."""

    model_config = ConfigDict(frozen=True)

    organisation: Name
    credit_code: CreditCode | None = None
    kind: RelationKind
    start: date
    end: date | None = Field(None, description="None: ongoing.")


class Expert(BaseModel):
    """An expert of the pool. Contact details are personal data: never in events or public output."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    name: Annotated[Name, Field(max_length=50)]
    organisation: Name
    organisation_credit_code: CreditCode | None = None
    title: str = Field(max_length=50, examples=["教授级高级工程师"])
    fields: list[Cluster] = Field(min_length=1)
    region_code: str = Field(pattern=r"^\d{6}$", description="County- or city-level code where the expert is based.")
    email: str = Field("", max_length=200)
    phone: str = Field("", max_length=20)
    active: bool = True
    relations: list[Relation] = Field(default_factory=list)

    @property
    def city_code(self) -> str | None:
        county = hubei_counties().get(self.region_code)
        if county:
            return county.city_code
        return self.region_code if self.region_code in hubei_cities() else None


COLUMNS = ("id", "name", "organisation", "organisation_credit_code", "title", "fields", "region_code", "email",
           "phone", "active", "relations")
HELP = "fields 以分号分隔的集群代码；relations 为 JSON 数组（organisation, credit_code, kind, start, end）"


def _row_to_expert(row: dict[str, Any]) -> Expert:
    fields = [f.strip() for f in str(row.get("fields") or "").split(";") if f.strip()]
    relations = json.loads(row["relations"]) if str(row.get("relations") or "").strip() else []
    active = str(row.get("active", "true")).strip().lower() not in ("false", "0", "否", "no")
    return Expert.model_validate({
        **{k: (str(v).strip() if v is not None else "") for k, v in row.items() if k in COLUMNS},
        "organisation_credit_code": str(row.get("organisation_credit_code") or "").strip() or None,
        "fields": fields, "relations": relations, "active": active,
    })


def parse_rows(rows: list[dict[str, Any]]) -> tuple[list[Expert], list[dict[str, Any]]]:
    """Experts from table rows, and an error per bad row (row numbers count the header as row 1)."""
    experts, errors = [], []
    for number, row in enumerate(rows, start=2):
        try:
            experts.append(_row_to_expert(row))
        except ValidationError as exc:
            errors.append({"row": number, "errors": [
                {"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors(include_url=False)]})
        except (json.JSONDecodeError, TypeError) as exc:
            errors.append({"row": number, "errors": [{"field": "relations", "message": f"不是有效的JSON：{exc}"}]})
    seen: dict[str, int] = {}
    for number, expert in enumerate(experts, start=2):
        if expert.id in seen:
            errors.append({"row": number, "errors": [{"field": "id", "message": f"与第{seen[expert.id]}行重复"}]})
        seen.setdefault(expert.id, number)
    return experts, errors


def read_table(content: bytes, filename: str) -> list[dict[str, Any]]:
    """Rows of a CSV (UTF-8, optional BOM) or XLSX upload, keyed by the header row."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception as exc:  # openpyxl fails in many ways on a file that is not a workbook: all are bad input
            raise ValueError(f"不是有效的 XLSX 文件（{type(exc).__name__}）") from exc
        if sheet is None:
            return []
        values = list(sheet.iter_rows(values_only=True))
        if not values:
            return []
        header = [str(h).strip() if h is not None else "" for h in values[0]]
        return [dict(zip(header, row, strict=False)) for row in values[1:] if any(v is not None for v in row)]
    text = content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))
