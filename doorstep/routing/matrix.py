"""Travel matrices: whole seconds and whole metres between places.

By default a matrix comes from great-circle (haversine) distances, stretched by a detour factor for
the street network and divided by a speed per territory. When a routing server is configured, an
OSRM ``/table/v1/driving/`` service gives road durations and distances instead.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_METRES = 6_371_008.8
# A pair of places with no road between them: far longer than any shift, so the planner leaves the
# stop out as unreachable instead of failing.
UNREACHABLE_SECONDS = 1_000_000_000
UNREACHABLE_METRES = 1_000_000_000


class MatrixError(RuntimeError):
    """The travel matrix could not be built (bad profile, routing server down or answering nonsense)."""


class HasLatLon(Protocol):
    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...


@dataclass(frozen=True, slots=True)
class TravelProfile:
    """How a team moves in its territory: straight-line distance x detour factor ÷ speed."""

    name: str
    speed_kmh: float
    detour_factor: float = 1.4

    def __post_init__(self) -> None:
        if not self.speed_kmh > 0:
            raise MatrixError(f"profile {self.name!r}: speed must be positive, got {self.speed_kmh}")
        if not self.detour_factor >= 1:
            raise MatrixError(f"profile {self.name!r}: detour factor must be at least 1, got {self.detour_factor}")


@dataclass(frozen=True)
class TravelMatrix:
    """Durations (whole time units) and distances (whole distance units) between the places in ``keys``."""

    keys: tuple[Hashable, ...]
    durations: npt.NDArray[np.int64]
    distances: npt.NDArray[np.int64]
    _index: dict[Hashable, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        size = len(self.keys)
        durations = np.asarray(self.durations, dtype=np.int64)
        distances = np.asarray(self.distances, dtype=np.int64)
        if durations.shape != (size, size) or distances.shape != (size, size):
            raise MatrixError(f"a matrix for {size} places must be {size}x{size}")
        if (durations < 0).any() or (distances < 0).any():
            raise MatrixError("travel durations and distances cannot be negative")
        index = {key: position for position, key in enumerate(self.keys)}
        if len(index) != size:
            raise MatrixError("a place appears twice in the matrix keys")
        object.__setattr__(self, "durations", durations)
        object.__setattr__(self, "distances", distances)
        object.__setattr__(self, "_index", index)

    def has(self, key: Hashable) -> bool:
        return key in self._index

    def index(self, key: Hashable) -> int:
        return self._index[key]

    def duration(self, frm: Hashable, to: Hashable) -> int:
        return int(self.durations[self._index[frm], self._index[to]])

    def distance(self, frm: Hashable, to: Hashable) -> int:
        return int(self.distances[self._index[frm], self._index[to]])


def haversine_metres(a: HasLatLon, b: HasLatLon) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    half_chord = (
        math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_METRES * math.asin(min(1.0, math.sqrt(half_chord)))


def haversine_matrix(points: Sequence[HasLatLon], profile: TravelProfile) -> TravelMatrix:
    """Road distance estimated as haversine x detour factor (rounded to metres); time rounded up to seconds."""
    lat = np.radians(np.array([p.lat for p in points], dtype=np.float64))
    lon = np.radians(np.array([p.lon for p in points], dtype=np.float64))
    dlat = lat[None, :] - lat[:, None]
    dlon = lon[None, :] - lon[:, None]
    half_chord = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    straight = 2 * EARTH_RADIUS_METRES * np.arcsin(np.minimum(1.0, np.sqrt(half_chord)))
    road = straight * profile.detour_factor
    metres_per_second = profile.speed_kmh * 1000 / 3600
    distances = np.rint(road).astype(np.int64)
    durations = np.ceil(road / metres_per_second).astype(np.int64)
    np.fill_diagonal(distances, 0)
    np.fill_diagonal(durations, 0)
    return TravelMatrix(tuple(points), np.maximum(durations, 0), distances)  # type: ignore[arg-type]


def euclidean_matrix(coordinates: Mapping[Hashable, tuple[int, int]], scale: int = 1000) -> TravelMatrix:
    """Plane distances between integer coordinates, times ``scale``, for benchmark instances.

    Distances are rounded (the objective stays within half a unit per leg of the exact figure) but
    travel times are rounded *up*, so a route the solver finds on time is on time with exact
    Euclidean travel as well; rounding times to the nearest unit can break windows.
    """
    keys = tuple(coordinates)
    size = len(keys)
    durations = np.zeros((size, size), dtype=np.int64)
    distances = np.zeros((size, size), dtype=np.int64)
    for i, frm in enumerate(keys):
        x1, y1 = coordinates[frm]
        for j, to in enumerate(keys):
            x2, y2 = coordinates[to]
            if not all(isinstance(v, int) for v in (x1, y1, x2, y2)):
                raise MatrixError("Euclidean matrices need integer coordinates")
            squared = ((x1 - x2) ** 2 + (y1 - y2) ** 2) * scale * scale
            root = math.isqrt(squared)
            durations[i, j] = root if root * root == squared else root + 1
            distances[i, j] = (math.isqrt(4 * squared) + 1) // 2  # round(sqrtsquared), ties up, in integers
    return TravelMatrix(keys, durations, distances)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class OsrmClient:
    """A client of an OSRM ``table`` service, e.g. ``OsrmClient("http://osrm.internal:5000")``.

    Large requests are split into blocks of ``block_size`` sources x ``block_size`` destinations, which
    stays within the server's ``--max-table-size`` when that is at least ``block_size``.
    """

    base_url: str
    timeout_seconds: float = 10.0
    block_size: int = 100
    profile: str = "driving"

    def __post_init__(self) -> None:
        scheme = urllib.parse.urlsplit(self.base_url).scheme
        if scheme not in ("http", "https"):
            raise MatrixError(f"the routing server address must be http(s): {self.base_url!r}")
        if self.block_size < 1:
            raise MatrixError("block size must be at least 1")

    def matrix(self, points: Sequence[HasLatLon]) -> TravelMatrix:
        size = len(points)
        durations = np.zeros((size, size), dtype=np.int64)
        distances = np.zeros((size, size), dtype=np.int64)
        blocks = [range(start, min(size, start + self.block_size)) for start in range(0, size, self.block_size)]
        for sources in blocks:
            for destinations in blocks:
                block_durations, block_distances = self._table(points, sources, destinations)
                durations[np.ix_(sources, destinations)] = block_durations
                distances[np.ix_(sources, destinations)] = block_distances
        np.fill_diagonal(durations, 0)
        np.fill_diagonal(distances, 0)
        return TravelMatrix(tuple(points), durations, distances)  # type: ignore[arg-type]

    def _table(
        self, points: Sequence[HasLatLon], sources: range, destinations: range
    ) -> tuple[list[list[int]], list[list[int]]]:
        same = sources == destinations
        chosen = list(sources) if same else list(sources) + list(destinations)
        coordinates = ";".join(f"{points[i].lon:.6f},{points[i].lat:.6f}" for i in chosen)
        query = {"annotations": "duration,distance"}
        if not same:
            query["sources"] = ";".join(str(i) for i in range(len(sources)))
            query["destinations"] = ";".join(str(len(sources) + i) for i in range(len(destinations)))
        url = (
            f"{self.base_url.rstrip('/')}/table/v1/{self.profile}/{coordinates}?"
            f"{urllib.parse.urlencode(query, safe=';,')}"
        )
        body = self._get(url)
        if body.get("code") != "Ok":
            raise MatrixError(f"routing server refused the table request: {body.get('code')} {body.get('message', '')}")
        durations = _whole_table(body.get("durations"), len(sources), len(destinations), math.ceil, UNREACHABLE_SECONDS)
        distances = _whole_table(body.get("distances"), len(sources), len(destinations), round, UNREACHABLE_METRES)
        return durations, distances

    def _get(self, url: str) -> dict[str, Any]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - scheme checked
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read()[:200].decode("utf-8", "replace")
            raise MatrixError(f"routing server answered HTTP {error.code}: {detail}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise MatrixError(f"routing server unreachable: {error}") from error
        try:
            body = json.loads(payload)
        except ValueError as error:
            raise MatrixError("routing server answered something that is not JSON") from error
        if not isinstance(body, dict):
            raise MatrixError("routing server answered JSON that is not an object")
        return body


def _whole_table(
    table: object, rows: int, columns: int, to_int: Any, unreachable: int
) -> list[list[int]]:
    if not isinstance(table, list) or len(table) != rows:
        raise MatrixError(f"routing server answered a table of the wrong shape (expected {rows}x{columns})")
    result: list[list[int]] = []
    for row in table:
        if not isinstance(row, list) or len(row) != columns:
            raise MatrixError(f"routing server answered a table of the wrong shape (expected {rows}x{columns})")
        values: list[int] = []
        for value in row:
            if value is None:
                values.append(unreachable)
            elif isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 and math.isfinite(value):
                values.append(int(to_int(value)))
            else:
                raise MatrixError(f"routing server answered a value that is not a travel figure: {value!r}")
        result.append(values)
    return result
