"""Small days to plan, on a plane where one unit of distance takes one second to cover."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from doorstep.routing.matrix import euclidean_matrix
from doorstep.routing.problem import Depot, Problem, Stop, TimeWindow, Vehicle

BRANCH = Depot("branch", "branch")


def plane_day(
    places: Mapping[str, tuple[int, int]],
    stops: Sequence[Stop],
    vehicles: Sequence[Vehicle] | None = None,
    *,
    scale: int = 1,
) -> Problem:
    """A day on integer coordinates; ``places`` must include "branch"."""
    matrix = euclidean_matrix(dict(places), scale=scale)
    return Problem(
        vehicles=tuple(vehicles or [pair("pair-1")]),
        stops=tuple(stops),
        matrices={"default": matrix},
    )


def pair(vehicle_id: str, *, shift: tuple[int, int] = (0, 10_000), capacity: int | None = None,
         start: Depot = BRANCH, end: Depot = BRANCH) -> Vehicle:
    return Vehicle(
        id=vehicle_id,
        start=start,
        end=end,
        shift=TimeWindow(*shift),
        capacity=capacity,
        members=(f"{vehicle_id}-a", f"{vehicle_id}-b"),
    )


def visit(stop_id: str, *, service: int = 10, windows: Sequence[tuple[int, int]] = (),
          allowed: Sequence[tuple[int, int]] | None = None, required: bool = False, prize: int = 30_000) -> Stop:
    return Stop(
        id=stop_id,
        location=stop_id,
        service=service,
        windows=tuple(TimeWindow(a, b) for a, b in windows),
        allowed_windows=None if allowed is None else tuple(TimeWindow(a, b) for a, b in allowed),
        required=required,
        prize=0 if required else prize,
    )
