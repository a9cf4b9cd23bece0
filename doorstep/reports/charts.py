"""Server-rendered SVG charts for the dashboards: no script, no CDN, they print, and every mark that
stands for cases is a link to the list of exactly those cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

INK, MUTED, GRID = "#1d2330", "#566074", "#dde2ea"
PALETTE = ("#0b6e4f", "#2b6cb0", "#b7791f", "#a0122f", "#6b46c1", "#2c7a7b", "#c05621", "#4a5568",
           "#38a169", "#d53f8c", "#3182ce", "#718096")


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None
    href: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[Point]


def _open(width: int, height: int, title: str, css: str = "chart") -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css}" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]


def _link(href: str, inner: str, label: str) -> str:
    if not href:
        return inner
    return f'<a href="{escape(href)}" aria-label="{escape(label)}">{inner}</a>'


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _empty(parts: list[str], x: int, y: int, text: str) -> SafeString:
    parts.append(f'<text x="{x}" y="{y}" font-size="13" fill="{MUTED}">{escape(text)}</text></svg>')
    return mark_safe("".join(parts))  # noqa: S308 -- escaped above


def line_chart(series: Sequence[Series], *, title: str, empty: str, percent: bool = True) -> SafeString:
    """Lines over the same x labels (months); each point a link when it has one."""
    width, height, left, right, top, bottom = 720, 260, 56, 40, 40, 36
    parts = _open(width, height, title)
    labels = list(dict.fromkeys(point.label for item in series for point in item.points))
    values = [point.value for item in series for point in item.points if point.value is not None]
    if not labels or not values:
        return _empty(parts, left, top + 20, empty)
    top_value = max(values) if not percent else max(max(values), 0.05)
    top_value = top_value * 1.1 or 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def x_of(index: int) -> float:
        return left + (plot_w * index / max(len(labels) - 1, 1))

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * value / top_value

    for step in range(5):
        value = top_value * step / 4
        y = y_of(value)
        if percent:
            text = f"{value * 100:.0f}%" if top_value >= 0.2 else f"{value * 100:.1f}%"
        else:
            text = f"{value:,.0f}" if top_value >= 8 else f"{value:,.1f}"
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="{MUTED}">{text}</text>')
    for index, label in enumerate(labels):
        parts.append(
            f'<text x="{x_of(index):.1f}" y="{height - 14}" font-size="11" text-anchor="middle" fill="{MUTED}">'
            f"{escape(label)}</text>"
        )
    legend_x = left
    for number, item in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        parts.append(f'<rect x="{legend_x}" y="10" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 16}" y="20" font-size="12" fill="{INK}">{escape(item.name)}</text>')
        legend_x += 30 + 8 * len(item.name) if item.name.isascii() else 30 + 13 * len(item.name)
        coordinates = [
            (x_of(labels.index(point.label)), y_of(point.value), point)
            for point in item.points
            if point.value is not None
        ]
        if len(coordinates) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _point in coordinates)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for x, y, point in coordinates:
            shown = _percent(point.value) if percent else f"{point.value:,.2f}"
            label = f"{item.name} {point.label}: {shown}"
            dot = (
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}" stroke="#fff" stroke-width="1.5">'
                f"<title>{escape(label)}</title></circle>"
            )
            parts.append(_link(point.href, dot, label))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- every text above is escaped


@dataclass(frozen=True)
class Cell:
    cases: int
    rate: float | None
    href: str = ""


def heat_map(
    rows: Sequence[str], columns: Sequence[str], cells: dict[tuple[str, str], Cell], *, title: str,
    row_labels: dict[str, str], column_labels: dict[str, str], caption: str,
) -> SafeString:
    """The roll-rate matrix: one row per starting bucket, one column per end state, shade by rate."""
    cell_w, cell_h, left, top = 78, 40, 92, 56
    width, height = left + cell_w * len(columns) + 8, top + cell_h * len(rows) + 28
    parts = _open(width, height, title, "chart heatmap")
    parts.append(f'<text x="{left}" y="16" font-size="12" fill="{MUTED}">{escape(caption)}</text>')
    for index, column in enumerate(columns):
        x = left + index * cell_w + cell_w / 2
        parts.append(
            f'<text x="{x:.0f}" y="{top - 10}" font-size="12" text-anchor="middle" fill="{INK}">'
            f"{escape(column_labels.get(column, column))}</text>"
        )
    for row_index, row in enumerate(rows):
        y = top + row_index * cell_h
        parts.append(
            f'<text x="{left - 8}" y="{y + cell_h / 2 + 4:.0f}" font-size="12" text-anchor="end" fill="{INK}">'
            f"{escape(row_labels.get(row, row))}</text>"
        )
        for column_index, column in enumerate(columns):
            x = left + column_index * cell_w
            cell = cells.get((row, column))
            rate = cell.rate if cell else None
            shade = 0.06 + 0.9 * (rate or 0)
            colour = "#a0122f" if column_index > row_index and column not in ("cured", "current", "closed") else "#0b6e4f"
            label = f"{row_labels.get(row, row)} → {column_labels.get(column, column)}: {_percent(rate)}"
            inner = (
                f'<rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" rx="3" '
                f'fill="{colour if cell else "#f3f5f8"}" fill-opacity="{shade if cell else 1:.2f}">'
                f"<title>{escape(label)}</title></rect>"
            )
            if cell:
                text_colour = "#fff" if (rate or 0) > 0.5 else INK
                inner += (
                    f'<text x="{x + cell_w / 2:.0f}" y="{y + 17}" font-size="12" font-weight="600" '
                    f'text-anchor="middle" fill="{text_colour}">{_percent(rate)}</text>'
                    f'<text x="{x + cell_w / 2:.0f}" y="{y + 31}" font-size="10" text-anchor="middle" '
                    f'fill="{text_colour}">{cell.cases:,}</text>'
                )
                inner = _link(cell.href, inner, label)
            parts.append(inner)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- every text above is escaped


def funnel_chart(stages: Sequence[tuple[str, int, str]], *, title: str, empty: str) -> SafeString:
    """Horizontal bars, widest first: notice → visit → promise → payment; each bar links to its cases."""
    width, bar_h, left, top = 720, 34, 150, 12
    height = top + (bar_h + 10) * max(len(stages), 1) + 8
    parts = _open(width, height, title)
    largest = max((count for _label, count, _href in stages), default=0)
    if not largest:
        return _empty(parts, left, top + 20, empty)
    for index, (label, count, href) in enumerate(stages):
        y = top + index * (bar_h + 10)
        bar = max((width - left - 90) * count / largest, 2)
        share = f" ({count / stages[0][1] * 100:.0f}%)" if stages[0][1] and index else ""
        parts.append(
            f'<text x="{left - 10}" y="{y + bar_h / 2 + 5:.0f}" font-size="13" text-anchor="end" fill="{INK}">'
            f"{escape(label)}</text>"
        )
        inner = (
            f'<rect x="{left}" y="{y}" width="{bar:.1f}" height="{bar_h}" rx="4" fill="{PALETTE[index]}">'
            f"<title>{escape(label)}: {count:,}</title></rect>"
            f'<text x="{left + bar + 8:.1f}" y="{y + bar_h / 2 + 5:.0f}" font-size="13" fill="{INK}">'
            f"{count:,}{share}</text>"
        )
        parts.append(_link(href, inner, f"{label}: {count:,}"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- every text above is escaped


def scatter_map(
    points: Sequence[tuple[float, float, str, str, str]], *, legend: dict[str, tuple[str, str]], title: str, empty: str,
) -> SafeString:
    """Visits where they happened (latitude, longitude, outcome key, link, tooltip), no map tiles: the
    dots alone show where collectors go and what comes of it."""
    width, height, pad, legend_h = 720, 440, 20, 28
    parts = _open(width, height + legend_h, title, "chart map")
    x_legend = pad
    counts = {key: sum(1 for point in points if point[2] == key) for key in legend}
    for key, (name, colour) in legend.items():
        label = f"{name} {counts[key]}"
        parts.append(f'<circle cx="{x_legend + 6}" cy="14" r="6" fill="{colour}" data-key="{escape(key)}"/>')
        parts.append(f'<text x="{x_legend + 16}" y="18" font-size="12" fill="{INK}">{escape(label)}</text>')
        x_legend += 24 + (8 if label.isascii() else 13) * len(label)
    if not points:
        return _empty(parts, pad, legend_h + 30, empty)
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    lat_min, lat_max, lon_min, lon_max = min(lats), max(lats), min(lons), max(lons)
    span = max(lat_max - lat_min, lon_max - lon_min, 0.01)
    scale = min((width - 2 * pad) / span, (height - 2 * pad) / span)
    parts.append(
        f'<rect x="0" y="{legend_h}" width="{width}" height="{height}" fill="#f8f9fb" stroke="{GRID}"/>'
    )
    for lat, lon, key, href, tip in points:
        x = pad + (lon - lon_min) * scale
        y = legend_h + height - pad - (lat - lat_min) * scale
        colour = legend.get(key, ("", "#4a5568"))[1]
        shown = escape(tip)
        dot = (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}" fill-opacity=".8" stroke="#fff">'
            f"<title>{shown}</title></circle>"
        )
        parts.append(f'<a href="{escape(href)}" aria-label="{shown}">{dot}</a>' if href else dot)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- every text above is escaped
