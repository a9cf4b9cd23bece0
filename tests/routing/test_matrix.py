"""Travel matrices: the haversine default, exact plane distances for benchmarks, and the OSRM client.

The OSRM client talks to a tiny HTTP server started here, standing in for the bank's routing server.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorstep.routing.matrix import (
    UNREACHABLE_SECONDS,
    MatrixError,
    OsrmClient,
    TravelMatrix,
    TravelProfile,
    euclidean_matrix,
    haversine_matrix,
    haversine_metres,
)
from doorstep.routing.problem import Point

TIANFU_SQUARE = Point(30.6574, 104.0658)
CHUNXI_ROAD = Point(30.6547, 104.0793)


def test_one_degree_of_latitude_is_about_111_km() -> None:
    assert haversine_metres(Point(30.0, 104.0), Point(31.0, 104.0)) == pytest.approx(111_195, abs=5)


def test_haversine_is_symmetric_and_zero_on_the_spot() -> None:
    assert haversine_metres(TIANFU_SQUARE, CHUNXI_ROAD) == pytest.approx(haversine_metres(CHUNXI_ROAD, TIANFU_SQUARE))
    assert haversine_metres(TIANFU_SQUARE, TIANFU_SQUARE) == 0


def test_the_matrix_stretches_by_the_detour_and_divides_by_the_territory_speed() -> None:
    profile = TravelProfile("jinjiang", speed_kmh=18.0, detour_factor=1.5)
    matrix = haversine_matrix([TIANFU_SQUARE, CHUNXI_ROAD], profile)
    straight = haversine_metres(TIANFU_SQUARE, CHUNXI_ROAD)
    assert matrix.distance(TIANFU_SQUARE, CHUNXI_ROAD) == round(straight * 1.5)
    assert matrix.duration(TIANFU_SQUARE, CHUNXI_ROAD) == math.ceil(straight * 1.5 / (18_000 / 3600))
    assert matrix.duration(CHUNXI_ROAD, CHUNXI_ROAD) == 0
    assert matrix.durations.dtype.kind == "i"


def test_a_faster_territory_gives_shorter_times_over_the_same_road() -> None:
    slow = haversine_matrix([TIANFU_SQUARE, CHUNXI_ROAD], TravelProfile("old-town", speed_kmh=12))
    fast = haversine_matrix([TIANFU_SQUARE, CHUNXI_ROAD], TravelProfile("ring-road", speed_kmh=40))
    assert fast.duration(TIANFU_SQUARE, CHUNXI_ROAD) < slow.duration(TIANFU_SQUARE, CHUNXI_ROAD)
    assert fast.distance(TIANFU_SQUARE, CHUNXI_ROAD) == slow.distance(TIANFU_SQUARE, CHUNXI_ROAD)


@pytest.mark.parametrize(("speed", "detour"), [(0, 1.4), (-5, 1.4), (20, 0.9)])
def test_impossible_profiles_are_refused(speed: float, detour: float) -> None:
    with pytest.raises(MatrixError):
        TravelProfile("bad", speed_kmh=speed, detour_factor=detour)


def test_a_matrix_of_the_wrong_shape_or_sign_is_refused() -> None:
    with pytest.raises(MatrixError, match="2x2"):
        TravelMatrix(("a", "b"), [[0]], [[0]])  # type: ignore[arg-type]
    with pytest.raises(MatrixError, match="negative"):
        TravelMatrix(("a", "b"), [[0, -1], [1, 0]], [[0, 1], [1, 0]])  # type: ignore[arg-type]


coordinate = st.integers(min_value=-100, max_value=100)


@given(st.tuples(coordinate, coordinate), st.tuples(coordinate, coordinate))
def test_scaled_plane_times_never_understate_the_exact_distance(a: tuple[int, int], b: tuple[int, int]) -> None:
    # Rounding up is what keeps windows safe: a solver that is on time with these figures is on time exactly.
    matrix = euclidean_matrix({"a": a, "b": b}, scale=1000)
    exact_squared = ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) * 1000**2
    duration = matrix.duration("a", "b")
    assert duration * duration >= exact_squared
    assert (duration - 1) ** 2 < exact_squared or duration == 0
    distance = matrix.distance("a", "b")
    assert abs(distance - math.sqrt(exact_squared)) <= 0.5 + 1e-9


# ------------------------------------------------------------------------------------------- OSRM


class FakeOsrm:
    """Answers /table/v1/driving/ with durations of 60 s and distances of 500 m per index step."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.respond: Callable[[list[tuple[float, float]], list[int], list[int]], tuple[int, Any]] = self.table
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @staticmethod
    def table(coords: list[tuple[float, float]], sources: list[int], destinations: list[int]) -> tuple[int, Any]:
        def position(i: int) -> int:
            return round((coords[i][1] - 30.0) * 1000)  # the test places points 0.001° of latitude apart

        return 200, {
            "code": "Ok",
            "durations": [[60.4 * abs(position(s) - position(d)) for d in destinations] for s in sources],
            "distances": [[500.4 * abs(position(s) - position(d)) for d in destinations] for s in sources],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                parts = urlsplit(self.path)
                prefix = "/table/v1/driving/"
                if not parts.path.startswith(prefix):
                    self._send(404, {"code": "InvalidUrl"})
                    return
                coords = [tuple(map(float, pair.split(","))) for pair in parts.path[len(prefix):].split(";")]
                query = parse_qs(parts.query)
                every = list(range(len(coords)))
                sources = [int(i) for i in query["sources"][0].split(";")] if "sources" in query else every
                destinations = (
                    [int(i) for i in query["destinations"][0].split(";")] if "destinations" in query else every
                )
                status, body = fake.respond(coords, sources, destinations)  # type: ignore[arg-type]
                self._send(status, body)

            def _send(self, status: int, body: Any) -> None:
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def osrm() -> Iterator[FakeOsrm]:
    fake = FakeOsrm()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def points_on_a_line(count: int) -> list[Point]:
    return [Point(30.0 + i / 1000, 104.0) for i in range(count)]


def test_the_osrm_client_reads_road_times_and_distances(osrm: FakeOsrm) -> None:
    points = points_on_a_line(3)
    matrix = OsrmClient(osrm.url).matrix(points)
    assert matrix.duration(points[0], points[2]) == 121  # 120.8 s rounded up
    assert matrix.distance(points[2], points[0]) == 1001  # 1000.8 m rounded
    assert matrix.duration(points[1], points[1]) == 0
    assert len(osrm.requests) == 1
    assert "annotations=duration,distance" in osrm.requests[0]
    assert "104.000000,30.000000" in osrm.requests[0]  # longitude first, as OSRM wants


def test_a_large_table_is_asked_for_in_blocks(osrm: FakeOsrm) -> None:
    points = points_on_a_line(5)
    matrix = OsrmClient(osrm.url, block_size=2).matrix(points)
    assert len(osrm.requests) == 9  # 3 source blocks by 3 destination blocks
    assert all(len(urlsplit(r).path.split(";")) <= 4 for r in osrm.requests)
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            assert matrix.duration(a, b) == math.ceil(60.4 * abs(i - j))


def test_places_without_a_road_between_them_count_as_unreachable(osrm: FakeOsrm) -> None:
    osrm.respond = lambda coords, s, d: (200, {
        "code": "Ok",
        "durations": [[0 if i == j else None for j in d] for i in s],
        "distances": [[0 if i == j else None for j in d] for i in s],
    })
    points = points_on_a_line(2)
    matrix = OsrmClient(osrm.url).matrix(points)
    assert matrix.duration(points[0], points[1]) == UNREACHABLE_SECONDS


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (400, {"code": "TooBig", "message": "Too many table coordinates"}, "HTTP 400"),
        (200, {"code": "NoSegment", "message": "Could not find a matching segment"}, "NoSegment"),
        (200, b"<html>gateway</html>", "not JSON"),
        (200, {"code": "Ok", "durations": [[0]], "distances": [[0]]}, "wrong shape"),
        (200, {"code": "Ok", "durations": [[0, "x"], [1, 0]], "distances": [[0, 1], [1, 0]]}, "not a travel figure"),
    ],
)
def test_a_routing_server_in_trouble_gives_a_clear_error(
    osrm: FakeOsrm, status: int, body: Any, message: str
) -> None:
    osrm.respond = lambda coords, s, d: (status, body)
    with pytest.raises(MatrixError, match=message):
        OsrmClient(osrm.url).matrix(points_on_a_line(2))


def test_a_slow_routing_server_times_out(osrm: FakeOsrm) -> None:
    release = threading.Event()

    def stall(coords: list[tuple[float, float]], s: list[int], d: list[int]) -> tuple[int, Any]:
        release.wait(5)
        return FakeOsrm.table(coords, s, d)

    osrm.respond = stall
    try:
        with pytest.raises(MatrixError, match="unreachable"):
            OsrmClient(osrm.url, timeout_seconds=0.2).matrix(points_on_a_line(2))
    finally:
        release.set()


def test_a_server_that_is_not_there_gives_a_clear_error() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()  # nothing listens on this port any more
    with pytest.raises(MatrixError, match="unreachable"):
        OsrmClient(f"http://127.0.0.1:{port}", timeout_seconds=1).matrix(points_on_a_line(2))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://osrm", "osrm:5000"])
def test_only_http_addresses_are_accepted(url: str) -> None:
    with pytest.raises(MatrixError, match="http"):
        OsrmClient(url)
