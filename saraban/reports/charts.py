"""Charts of the indicators drawn on the server as SVG: no script, no external file, nothing
the strict content security policy refuses (presentation attributes only, no ``style``), and
printable as they are.

>>> svg = trend_chart([Figures("2025-10-01", "ต.ค. 68", total=10, part=7)])
>>> svg.startswith("<svg") and "70%" in svg
True
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from .indicators import Figures

__all__ = ["ranking_chart", "trend_chart"]

_PART = "#1f6f5c"  # electronic / signed
_REST = "#d5dbe1"  # the rest
_TEXT = "#24313d"


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{round(share * 100)}%"


def trend_chart(rows: Sequence[Figures], *, title: str = "แนวโน้มรายเดือน",
                part_label: str = "ทางอิเล็กทรอนิกส์", rest_label: str = "ช่องทางอื่น",
                ) -> str:
    """Stacked bars, one per row (a month): the part below, the rest above, the share on top."""
    width, height, left, bottom, top = 720, 260, 40, 40, 30
    plot_h = height - bottom - top
    n = max(len(rows), 1)
    slot = (width - left - 10) / n
    bar = max(min(slot * 0.6, 48), 4)
    most = max((r.total for r in rows), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" class="report-chart" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" '
             f'y2="{height - bottom}" stroke="{_TEXT}" stroke-width="1"/>']
    for i, r in enumerate(rows):
        x = left + i * slot + (slot - bar) / 2
        total_h = plot_h * r.total / most
        part_h = plot_h * r.part / most
        base = height - bottom
        label = escape(r.label)
        parts.append(f'<g><title>{label}: {r.part} จาก {r.total} ({_pct(r.share)})</title>')
        if r.total:
            parts.append(f'<rect x="{x:.1f}" y="{base - total_h:.1f}" width="{bar:.1f}" '
                         f'height="{total_h - part_h:.1f}" fill="{_REST}"/>')
            parts.append(f'<rect x="{x:.1f}" y="{base - part_h:.1f}" width="{bar:.1f}" '
                         f'height="{part_h:.1f}" fill="{_PART}"/>')
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{base - total_h - 6:.1f}" '
                         f'text-anchor="middle" font-size="12" fill="{_TEXT}">'
                         f"{_pct(r.share)}</text>")
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{base + 16}" text-anchor="middle" '
                     f'font-size="11" fill="{_TEXT}">{label}</text></g>')
    legend_y = height - 8
    parts += [f'<rect x="{left}" y="{legend_y - 9}" width="10" height="10" fill="{_PART}"/>',
              f'<text x="{left + 14}" y="{legend_y}" font-size="11" fill="{_TEXT}">'
              f"{escape(part_label)}</text>",
              f'<rect x="{left + 180}" y="{legend_y - 9}" width="10" height="10" '
              f'fill="{_REST}"/>',
              f'<text x="{left + 194}" y="{legend_y}" font-size="11" fill="{_TEXT}">'
              f"{escape(rest_label)}</text>", "</svg>"]
    return "".join(parts)


def ranking_chart(rows: Sequence[Figures], *, title: str = "อันดับ") -> str:
    """Horizontal bars of the share, highest first (rows with nothing counted last)."""
    ranked = sorted(rows, key=lambda r: (r.share is None, -(r.share or 0), r.label))
    line, left, width = 24, 260, 720
    height = line * max(len(ranked), 1) + 10
    span = width - left - 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" class="report-chart" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for i, r in enumerate(ranked):
        y = 5 + i * line
        w = span * (r.share or 0)
        label = escape(r.label[:40])
        parts.append(f'<g><title>{escape(r.label)}: {r.part} จาก {r.total}</title>'
                     f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" font-size="12" '
                     f'fill="{_TEXT}">{label}</text>'
                     f'<rect x="{left}" y="{y + 3}" width="{span}" height="16" fill="{_REST}"/>'
                     f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="16" '
                     f'fill="{_PART}"/>'
                     f'<text x="{left + span + 6}" y="{y + 15}" font-size="12" fill="{_TEXT}">'
                     f"{_pct(r.share)}</text></g>")
    parts.append("</svg>")
    return "".join(parts)
