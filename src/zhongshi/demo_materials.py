"""Sample materials: small real PDFs made with ReportLab at load time, one per kind an application uploads."""

from __future__ import annotations

import functools
from typing import Any

from zhongshi_contracts.materials import kind_label
from zhongshi_runtime.pdf import para, render, table

# What the sample round requires of every application (申报材料清单); the mechanism documents C9 checks are
# uploaded as each dossier lists them, so the sample applicant lacking one is returned by screening.
DEMO_REQUIRED = ["application_form", "business_licence", "equipment_list", "site_proof", "staff_list",
                 "financial_audit", "service_outcomes"]


def sample_pdf(kind: str, dossier: dict[str, Any]) -> bytes:
    """A one-page PDF of this kind for this dossier's applicant."""
    return _rendered(kind, dossier["applicant"]["name"], dossier["applicant"]["credit_code"],
                     dossier["platform"]["name"])


@functools.cache  # about 10 ms each: the tests' and the bench's applicants upload the same few again and again
def _rendered(kind: str, applicant: str, credit_code: str, platform: str) -> bytes:
    rows = [["申报主体", applicant], ["统一社会信用代码", credit_code], ["中试平台", platform],
            ["材料类别", kind_label(kind)]]
    return render([para(kind_label(kind), "title"), table(rows, [40, 134]),
                   para("（示例材料：由演示程序生成，内容仅用于展示。）", "small")],
                  title=f"{kind_label(kind)} - {applicant}")


def kinds_for(dossier: dict[str, Any], required: list[str]) -> list[str]:
    """The round's required kinds, then the mechanism documents the dossier declares (C9)."""
    declared = [d["kind"] for d in dossier["platform"].get("mechanism_documents", [])]
    return [*required, *(k for k in declared if k not in required)]


def upload_parts(kind: str, dossier: dict[str, Any]) -> dict[str, Any]:
    """``files`` and ``data`` for httpx: one material's multipart upload."""
    return {"files": {"file": (f"{kind_label(kind)}.pdf", sample_pdf(kind, dossier), "application/pdf")},
            "data": {"kind": kind, "title": f"{kind_label(kind)}（{dossier['applicant']['name']}）"}}
