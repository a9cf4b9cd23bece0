"""Server-side SVG charts for the compliance report: no script, no CDN, and they print."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

SERIES = (("refused", "#b42318"), ("overridden", "#b7791f"), ("near_misses", "#2b6cb0"))


def bars_by_rule(rows: Sequence[object], labels: dict[str, str], title: str) -> SafeString:
    """Horizontal stacked bars, one per rule: refused, overridden and near misses."""
    row_height, label_width, chart_width, top = 26, 120, 520, 34
    height = top + row_height * max(len(rows), 1) + 16
    largest = max((row.total for row in rows), default=0) or 1  # type: ignore[attr-defined]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {label_width + chart_width + 60} {height}" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    legend_x = label_width
    for key, colour in SERIES:
        parts.append(f'<rect x="{legend_x}" y="6" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 16}" y="16" font-size="12" fill="#1d2330">{escape(labels[key])}</text>')
        legend_x += 150
    if not rows:
        parts.append(f'<text x="{label_width}" y="{top + 16}" font-size="13" fill="#566074">{escape(labels["empty"])}</text>')
    for index, row in enumerate(rows):
        y = top + index * row_height
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 16}" font-size="12" text-anchor="end" fill="#1d2330">'
            f"{escape(row.rule_id)}</text>"  # type: ignore[attr-defined]
        )
        x = float(label_width)
        for key, colour in SERIES:
            value = getattr(row, key)
            if not value:
                continue
            width = chart_width * value / largest
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 4}" width="{max(width, 1):.1f}" height="{row_height - 8}" fill="{colour}">'
                f"<title>{escape(row.rule_id)}: {escape(labels[key])} {value}</title></rect>"  # type: ignore[attr-defined]
            )
            x += width
        parts.append(
            f'<text x="{x + 6:.1f}" y="{y + 16}" font-size="12" fill="#566074">{row.total}</text>'  # type: ignore[attr-defined]
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- every text above is escaped
