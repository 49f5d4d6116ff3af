"""Server-rendered SVG bar charts (pure): no script, readable by screen readers through their title and table."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Bar:
    label: str
    value: int


def bar_chart(title: str, bars: list[Bar], target: int | None = None, width: int = 560) -> str:
    """Horizontal bars, one row each, the value written at the bar's end; ``target`` draws the goal line."""
    row, label_w, pad = 28, 150, 40
    top = max([b.value for b in bars] + [target or 0, 1])
    scale = (width - label_w - pad) / top
    height = row * max(len(bars), 1) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
             f'width="100%" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, bar in enumerate(bars):
        y = 8 + i * row
        length = max(bar.value * scale, 1)
        parts.append(f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" class="chart-label">'
                     f'{escape(bar.label)}</text>'
                     f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="18" class="chart-bar"/>'
                     f'<text x="{label_w + length + 6:.1f}" y="{y + 17}" class="chart-value">{bar.value}</text>')
    if target:
        x = label_w + target * scale
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height - 16}" class="chart-target"/>'
                     f'<text x="{x - 4:.1f}" y="{height - 4}" text-anchor="end" class="chart-value">'
                     f'目标 {target}</text>')
    parts.append("</svg>")
    return "".join(parts)


def progress_ring(done: int, target: int, label: str) -> str:
    """A ring showing ``done`` of ``target``."""
    share = min(done / target, 1) if target else 0
    circumference = 2 * 3.14159 * 52
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 140 140" width="140" height="140" '
            f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
            f'<circle cx="70" cy="70" r="52" class="ring-track"/>'
            f'<circle cx="70" cy="70" r="52" class="ring-done" stroke-dasharray="{circumference * share:.1f} '
            f'{circumference:.1f}" transform="rotate(-90 70 70)"/>'
            f'<text x="70" y="66" text-anchor="middle" class="ring-number">{done}</text>'
            f'<text x="70" y="88" text-anchor="middle" class="ring-caption">目标 {target}</text></svg>')
