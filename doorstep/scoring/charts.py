"""Server-rendered SVG charts of the validation report (no script, no external asset)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 320, 220, 34


def _frame(title: str, body: str) -> SafeString:
    axes = (
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - 8}" y2="{HEIGHT - PAD}" stroke="#666"/>'
        f'<line x1="{PAD}" y1="8" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#666"/>'
    )
    return format_html(
        '<svg class="scoring-chart" viewBox="0 0 {} {}" role="img" aria-label="{}"><title>{}</title>{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        title,
        mark_safe(axes + body),  # noqa: S308 - built here from numbers and escaped text
    )


def _x(share: float) -> float:
    return PAD + share * (WIDTH - PAD - 8)


def _y(share: float, top: float = 1.0) -> float:
    return HEIGHT - PAD - (share / top if top else 0) * (HEIGHT - PAD - 8)


def _labels(x_label: str, y_label: str) -> str:
    return (
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 6}" text-anchor="middle" font-size="11">{escape(x_label)}</text>'
        f'<text x="10" y="{HEIGHT / 2}" font-size="11" transform="rotate(-90 10 {HEIGHT / 2})" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )


def calibration_chart(bins: Sequence[dict[str, Any]], title: str, x_label: str, y_label: str) -> SafeString:
    body = f'<line x1="{_x(0)}" y1="{_y(0)}" x2="{_x(1)}" y2="{_y(1)}" stroke="#bbb" stroke-dasharray="4 3"/>'
    points = " ".join(f"{_x(b['mean_predicted']):.1f},{_y(b['observed_rate']):.1f}" for b in bins)
    body += f'<polyline points="{points}" fill="none" stroke="#1f5fa8" stroke-width="2"/>'
    body += "".join(
        f'<circle cx="{_x(b["mean_predicted"]):.1f}" cy="{_y(b["observed_rate"]):.1f}" r="3" fill="#1f5fa8"/>'
        for b in bins
    )
    return _frame(title, body + _labels(x_label, y_label))


def distribution_chart(rows: Sequence[dict[str, Any]], title: str, x_label: str, y_label: str) -> SafeString:
    top = max((row["share"] for row in rows), default=1.0) or 1.0
    width = (WIDTH - PAD - 8) / max(len(rows), 1)
    body = ""
    for index, row in enumerate(rows):
        x = PAD + index * width + 4
        y = _y(row["share"], top)
        body += (
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width - 8:.1f}" height="{HEIGHT - PAD - y:.1f}" fill="#4a8c5c"/>'
            f'<text x="{x + (width - 8) / 2:.1f}" y="{HEIGHT - PAD + 13}" text-anchor="middle" font-size="11">'
            f'{escape(row["band"])}</text>'
            f'<text x="{x + (width - 8) / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="10">'
            f'{row["share"] * 100:.0f}%</text>'
        )
    return _frame(title, body + _labels(x_label, y_label))


def qini_chart(qini: dict[str, Sequence[float]], title: str, x_label: str, y_label: str) -> SafeString:
    values = [*qini["gains"], *qini["random"]]
    top = max(max(values), 1e-9)
    bottom = min(min(values), 0.0)
    span = top - bottom

    def y(value: float) -> float:
        return HEIGHT - PAD - (value - bottom) / span * (HEIGHT - PAD - 8)

    model = " ".join(f"{_x(s):.1f},{y(g):.1f}" for s, g in zip(qini["shares"], qini["gains"], strict=True))
    random = " ".join(f"{_x(s):.1f},{y(g):.1f}" for s, g in zip(qini["shares"], qini["random"], strict=True))
    body = (
        f'<polyline points="{random}" fill="none" stroke="#bbb" stroke-dasharray="4 3"/>'
        f'<polyline points="{model}" fill="none" stroke="#a8551f" stroke-width="2"/>'
    )
    return _frame(title, body + _labels(x_label, y_label))
