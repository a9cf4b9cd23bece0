"""The route picture: every stop's number stays readable, whatever the addresses."""

from __future__ import annotations

import math
import re
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from doorstep.visits.route_svg import GAP, HEIGHT, RADIUS, WIDTH, RoutePoint, route_svg

BASE = (31.2304, 121.4737)
CIRCLE = re.compile(r'<circle cx="([-\d.]+)" cy="([-\d.]+)" r="(\d+)">')
BASE_RECT = re.compile(r'class="route-start" x="([-\d.]+)" y="([-\d.]+)"')


def _centres(svg: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y, _r in CIRCLE.findall(svg)]


def test_two_visits_in_one_building_get_two_readable_numbers() -> None:
    stops = [RoutePoint(31.2400, 121.4800, "1"), RoutePoint(31.2400, 121.4800, "2"), RoutePoint(31.2000, 121.4500, "3")]
    svg = route_svg(BASE, stops, "route")
    centres = _centres(svg)
    assert len(centres) == 3
    assert math.dist(centres[0], centres[1]) >= GAP - 0.2
    assert ">1</text>" in svg and ">2</text>" in svg and ">3</text>" in svg


def test_stops_far_apart_keep_their_projected_places() -> None:
    # North-east and south-west of the base: the picture keeps north up and east right.
    stops = [RoutePoint(31.30, 121.55, "1"), RoutePoint(31.16, 121.40, "2")]
    (x1, y1), (x2, y2) = _centres(route_svg(BASE, stops, "route"))
    assert x1 > x2 and y1 < y2


offsets = st.tuples(st.integers(-30, 30), st.integers(-30, 30))


@settings(max_examples=150, deadline=None)
@given(st.lists(offsets, min_size=1, max_size=14))
def test_no_stop_covers_another_or_the_base_and_all_stay_in_the_picture(grid: list[tuple[int, int]]) -> None:
    # Stops on a coarse grid around the base, so that many share a place or nearly so.
    stops = [RoutePoint(BASE[0] + dy * 0.001, BASE[1] + dx * 0.001, str(n)) for n, (dx, dy) in enumerate(grid, 1)]
    svg = route_svg(BASE, stops, "route")
    centres = _centres(svg)
    assert len(centres) == len(stops)
    for x, y in centres:
        assert RADIUS <= x <= WIDTH - RADIUS and RADIUS <= y <= HEIGHT - RADIUS
    for a, b in combinations(centres, 2):
        assert math.dist(a, b) >= GAP - 0.2
    base_x, base_y = (float(v) + 7 for v in BASE_RECT.search(svg).groups())
    for centre in centres:
        assert math.dist(centre, (base_x, base_y)) >= GAP - 0.2


def test_a_route_without_a_known_start_still_shows_its_stops() -> None:
    stops = [RoutePoint(31.24, 121.48, "1"), RoutePoint(31.25, 121.49, "2", "completed")]
    svg = route_svg(None, stops, "route")
    assert "route-start" not in svg
    assert len(_centres(svg)) == 2
    assert 'class="route-stop route-stop-completed"' in svg
    assert route_svg(None, [], "route") == ""
