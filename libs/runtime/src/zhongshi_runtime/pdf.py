"""Printable documents in Simplified Chinese: ReportLab with its built-in CID font STSong-Light (Adobe's
GB1 collection, which every PDF viewer carries), so no font file is shipped or downloaded."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

FONT = "STSong-Light"


@cache
def styles() -> dict[str, ParagraphStyle]:
    """Title, heading, body and small text; CJK line breaking."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    base = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=16, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=26, alignment=1, spaceAfter=8),
        "heading": ParagraphStyle("heading", parent=base, fontSize=13, leading=20, spaceBefore=10, spaceAfter=4),
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11),
    }


def para(text: str, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped: applicants' text is never markup)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(escaped, styles()[style])


def table(rows: Sequence[Sequence[Any]], widths: Sequence[float], *, header: bool = False) -> Table:
    """A ruled table whose string cells wrap."""
    cells = [[para(c, "small") if isinstance(c, str) else c for c in row] for row in rows]
    grid = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1 if header else 0)
    style = [("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke))
    grid.setStyle(TableStyle(style))
    return grid


def render(story: list[Flowable], *, title: str, subject: str = "") -> bytes:
    """The PDF bytes of ``story`` on A4 pages."""
    styles()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=title, subject=subject, author="zhongshi",
                            leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm)
    doc.build(story)
    return out.getvalue()
