"""A route as a small SVG picture: the start, the stops numbered in order, lines between them. No map tiles:
positions are projected onto the box, north up, with the same scale on both axes. Stops that would cover
each other (neighbours in one building, or a crowded street) are moved apart just enough that every number
can be read. The picture carries classes, not colours: each page's stylesheet colours it like its list
(the supervisor's team day in ``visits.css``, the collector's phone in ``field.css``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

WIDTH, HEIGHT, MARGIN = 320, 220, 22
RADIUS = 10  # a stop's circle
GAP = 2 * RADIUS + 2  # the least distance between two stops' centres, and between a stop and the start
SPREAD_PASSES = 50


@dataclass(frozen=True)
class RoutePoint:
    lat: float
    lon: float
    label: str
    state: str = "scheduled"  # a VisitStatus value: scheduled, checked_in, completed, cancelled, missed


def route_svg(start: tuple[float, float] | None, stops: Sequence[RoutePoint], title: str) -> SafeString:
    """The picture of a route from ``start`` (a branch or a home; None when unknown) through ``stops``
    in order and back; ``title`` is what a screen reader says."""
    points = ([start] if start else []) + [(stop.lat, stop.lon) for stop in stops]
    if not points:
        return SafeString("")
    projected = _spread(_project(points), fixed_first=start is not None)
    line = [*projected, projected[0]] if start else projected
    stop_points = projected[1:] if start else projected
    start_mark = (
        format_html(
            '<rect class="route-start" x="{}" y="{}" width="14" height="14" rx="3"><title>{}</title></rect>',
            f"{projected[0][0] - 7:.1f}", f"{projected[0][1] - 7:.1f}", _("Start"),
        )
        if start
        else SafeString("")
    )
    circles = format_html_join(
        "",
        '<g class="route-stop route-stop-{}"><circle cx="{}" cy="{}" r="{}"></circle>'
        '<text x="{}" y="{}" text-anchor="middle">{}</text></g>',
        (
            (stop.state, f"{x:.1f}", f"{y:.1f}", RADIUS, f"{x:.1f}", f"{y + 4:.1f}", stop.label)
            for stop, (x, y) in zip(stops, stop_points, strict=True)
        ),
    )
    return format_html(
        '<svg class="route-picture" viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">'
        '<rect class="route-bg" x="0" y="0" width="{}" height="{}" rx="8"></rect>'
        '<polyline class="route-line" points="{}"></polyline>{}{}</svg>',
        WIDTH, HEIGHT, title, WIDTH, HEIGHT, " ".join(f"{x:.1f},{y:.1f}" for x, y in line), start_mark, circles,
    )


def _project(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Latitude/longitude to picture coordinates, north up, the same scale both ways, centred in the box."""
    mid_lat = (min(lat for lat, _lon in points) + max(lat for lat, _lon in points)) / 2
    scale_x = math.cos(math.radians(mid_lat))
    xs = [lon * scale_x for _lat, lon in points]
    ys = [lat for lat, _lon in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
    unit = min(WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN) / span
    mid_x, mid_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return [(WIDTH / 2 + (x - mid_x) * unit, HEIGHT / 2 - (y - mid_y) * unit) for x, y in zip(xs, ys, strict=True)]


def _spread(points: list[tuple[float, float]], *, fixed_first: bool) -> list[tuple[float, float]]:
    """``points`` pushed apart until no two centres are closer than ``GAP``, all inside the box. With
    ``fixed_first`` the first point (the start) stays where it is. Points in the same place part in
    directions set by their order, so the picture is the same on every load."""
    moved = [list(point) for point in points]
    low_x, high_x = RADIUS + 1, WIDTH - RADIUS - 1
    low_y, high_y = RADIUS + 1, HEIGHT - RADIUS - 1
    for _pass in range(SPREAD_PASSES):
        crowded = False
        for i in range(len(moved)):
            for j in range(i + 1, len(moved)):
                dx, dy = moved[j][0] - moved[i][0], moved[j][1] - moved[i][1]
                distance = math.hypot(dx, dy)
                if distance >= GAP:
                    continue
                crowded = True
                if distance < 1e-6:
                    angle = 2 * math.pi * j / len(moved)
                    dx, dy, distance = math.cos(angle), math.sin(angle), 1.0
                ux, uy = dx / distance, dy / distance
                if i == 0 and fixed_first:  # the start does not move: the stop takes the whole step
                    share_i, share_j = 0.0, GAP - distance
                else:
                    share_i = share_j = (GAP - distance) / 2
                moved[i][0] -= ux * share_i
                moved[i][1] -= uy * share_i
                moved[j][0] += ux * share_j
                moved[j][1] += uy * share_j
        for point in moved[1:] if fixed_first else moved:
            point[0] = min(max(point[0], low_x), high_x)
            point[1] = min(max(point[1], low_y), high_y)
        if not crowded:
            break
    return [(x, y) for x, y in moved]
