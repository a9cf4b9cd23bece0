"""A route as a small SVG picture: the base, the stops numbered in order, lines between them. No map tiles:
positions are projected onto the box, north up, with the same scale on both axes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT, MARGIN = 320, 220, 22


@dataclass(frozen=True)
class RoutePoint:
    lat: float
    lon: float
    label: str
    state: str = "scheduled"  # scheduled, checked_in, completed, cancelled, missed


def route_svg(base: tuple[float, float], stops: Sequence[RoutePoint], title: str) -> SafeString:
    points = [(base[0], base[1])] + [(p.lat, p.lon) for p in stops]
    scale_x = math.cos(math.radians(base[0]))
    xs = [lon * scale_x for _lat, lon in points]
    ys = [lat for lat, _lon in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-4)
    unit = min((WIDTH - 2 * MARGIN), (HEIGHT - 2 * MARGIN)) / span
    mid_x, mid_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def project(lat: float, lon: float) -> tuple[float, float]:
        return (WIDTH / 2 + (lon * scale_x - mid_x) * unit, HEIGHT / 2 - (lat - mid_y) * unit)

    projected = [project(lat, lon) for lat, lon in points]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in [*projected, projected[0]])
    base_x, base_y = projected[0]
    circles = format_html_join(
        "",
        '<g class="stop stop-{}"><circle cx="{}" cy="{}" r="10"></circle>'
        '<text x="{}" y="{}" text-anchor="middle">{}</text></g>',
        ((stop.state, f"{x:.1f}", f"{y:.1f}", f"{x:.1f}", f"{y + 4:.1f}", stop.label) for stop, (x, y) in zip(stops, projected[1:], strict=True)),
    )
    return format_html(
        '<svg class="route-picture" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<rect class="route-bg" x="0" y="0" width="{}" height="{}" rx="8"></rect>'
        '<polyline class="route-line" points="{}"></polyline>'
        '<rect class="route-base" x="{}" y="{}" width="14" height="14"></rect>{}</svg>',
        WIDTH, HEIGHT, title, WIDTH, HEIGHT, path, f"{base_x - 7:.1f}", f"{base_y - 7:.1f}", circles,
    )
