"""Server-side SVG charts for the feedback dashboard: no script, no CDN, and they print."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from doorstep.feedback.selectors import FeedbackRow, WeekRow

INK, MUTED, GRID = "#1d2330", "#566074", "#e3e7ee"
COMPLAINTS, UPHELD, STARS, BREACHED = "#b7791f", "#b42318", "#2b6cb0", "#b42318"


def _svg(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]


def weekly_trend(weeks: Sequence[WeekRow], labels: dict[str, str], title: str) -> SafeString:
    """Complaints (and the upheld part) per week as bars; the average rating per week as a line (1–5)."""
    left, right, top, bottom, width, height = 40, 40, 34, 40, 720, 260
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = _svg(width, height, title)
    legend = ((COMPLAINTS, labels["complaints"]), (UPHELD, labels["upheld"]), (STARS, labels["stars"]))
    x = left
    for colour, text in legend:
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="18" font-size="12" fill="{INK}">{escape(text)}</text>')
        x += 160
    if not weeks:
        parts.append(f'<text x="{left}" y="{top + 30}" font-size="13" fill="{MUTED}">{escape(labels["empty"])}</text>')
        parts.append("</svg>")
        return mark_safe("".join(parts))  # noqa: S308 -- every text above is escaped
    largest = max((week.complaints for week in weeks), default=0) or 1
    for step in range(0, 6):
        y = top + plot_h - plot_h * step / 5
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" font-size="11" fill="{STARS}">{step}</text>')
    parts.append(f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end" fill="{MUTED}">{largest}</text>')
    parts.append(f'<text x="{left - 6}" y="{top + plot_h + 4}" font-size="11" text-anchor="end" fill="{MUTED}">0</text>')
    slot = plot_w / len(weeks)
    bar = max(min(slot * 0.6, 36), 2)
    points = []
    label_every = max(1, round(len(weeks) / 8))
    for index, week in enumerate(weeks):
        centre = left + slot * index + slot / 2
        day = week.week_start.strftime("%m-%d")
        if week.complaints:
            h = plot_h * week.complaints / largest
            parts.append(
                f'<rect x="{centre - bar / 2:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{COMPLAINTS}"><title>{escape(day)}: {escape(labels["complaints"])} {week.complaints}</title></rect>'
            )
        if week.upheld:
            h = plot_h * week.upheld / largest
            parts.append(
                f'<rect x="{centre - bar / 2:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{UPHELD}"><title>{escape(day)}: {escape(labels["upheld"])} {week.upheld}</title></rect>'
            )
        average = week.stars_average
        if average is not None:
            y = top + plot_h - plot_h * float(average) / 5
            points.append((centre, y, average, day))
        if index % label_every == 0:
            parts.append(
                f'<text x="{centre:.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle" fill="{MUTED}">'
                f"{escape(day)}</text>"
            )
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _average, _day in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{STARS}" stroke-width="2"/>')
    for x_point, y_point, average, day in points:
        parts.append(
            f'<circle cx="{x_point:.1f}" cy="{y_point:.1f}" r="3.5" fill="{STARS}"><title>{escape(day)}: '
            f'{escape(labels["stars"])} {average}</title></circle>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- every text above is escaped


def bars_by_category(rows: Sequence[FeedbackRow], labels: dict[str, str], title: str) -> SafeString:
    """Horizontal bars, one per category: complaints, with the upheld part, and a mark for breaches."""
    row_height, label_width, chart_width, top = 26, 190, 440, 30
    height = top + row_height * max(len(rows), 1) + 12
    largest = max((row.complaints for row in rows), default=0) or 1
    parts = _svg(label_width + chart_width + 80, height, title)
    x = label_width
    for colour, text in ((COMPLAINTS, labels["complaints"]), (UPHELD, labels["upheld"])):
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="16" font-size="12" fill="{INK}">{escape(text)}</text>')
        x += 150
    if not rows:
        parts.append(f'<text x="{label_width}" y="{top + 16}" font-size="13" fill="{MUTED}">{escape(labels["empty"])}</text>')
    for index, row in enumerate(rows):
        y = top + index * row_height
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 16}" font-size="12" text-anchor="end" fill="{INK}">{escape(row.label)}</text>'
        )
        total = chart_width * row.complaints / largest
        upheld = chart_width * row.upheld / largest
        parts.append(
            f'<rect x="{label_width}" y="{y + 4}" width="{max(total, 1):.1f}" height="{row_height - 8}" fill="{COMPLAINTS}">'
            f"<title>{escape(row.label)}: {escape(labels['complaints'])} {row.complaints}</title></rect>"
        )
        if row.upheld:
            parts.append(
                f'<rect x="{label_width}" y="{y + 4}" width="{upheld:.1f}" height="{row_height - 8}" fill="{UPHELD}">'
                f"<title>{escape(row.label)}: {escape(labels['upheld'])} {row.upheld}</title></rect>"
            )
        note = f"{row.complaints}"
        if row.breached:
            note += f" · {labels['breached']} {row.breached}"
        colour = BREACHED if row.breached else MUTED
        parts.append(
            f'<text x="{label_width + total + 6:.1f}" y="{y + 16}" font-size="12" fill="{colour}">{escape(note)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- every text above is escaped


def stars_bars(counts: dict[int, int], title: str) -> SafeString:
    """Five small bars: how many visits got one to five stars."""
    width, height, top, bottom = 300, 160, 22, 30
    largest = max(counts.values(), default=0) or 1
    parts = _svg(width, height, title)
    slot = width / 5
    for stars in range(1, 6):
        count = counts.get(stars, 0)
        h = (height - top - bottom) * count / largest
        x = slot * (stars - 1) + slot * 0.2
        colour = UPHELD if stars <= 2 else STARS
        parts.append(
            f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{slot * 0.6:.1f}" height="{h:.1f}" fill="{colour}">'
            f"<title>{stars}★: {count}</title></rect>"
        )
        parts.append(
            f'<text x="{x + slot * 0.3:.1f}" y="{height - 12}" font-size="12" text-anchor="middle" fill="{INK}">{stars}★</text>'
        )
        parts.append(
            f'<text x="{x + slot * 0.3:.1f}" y="{height - bottom - h - 4:.1f}" font-size="11" text-anchor="middle" '
            f'fill="{MUTED}">{count}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- every text above is escaped
