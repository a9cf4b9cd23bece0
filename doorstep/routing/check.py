"""An independent feasibility checker in exact arithmetic.

It shares no scheduling code with the planner: it recomputes the windows in which each stop may start
from the raw stop data, and times every route itself. Travel comes either from the integer matrix
(exact as it is) or from exact Euclidean distances, which are irrational: those are bracketed between
two fractions from integer square roots, and the bracket is narrowed until every comparison is decided.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from doorstep.routing.problem import Problem, Stop, Vehicle
from doorstep.routing.solve import Plan

Number = int | Fraction
FIRST_DIGITS = 12
LAST_DIGITS = 192


@dataclass(frozen=True, slots=True)
class Violation:
    kind: str
    vehicle_id: str | None
    stop_id: str | None
    detail: str

    def __str__(self) -> str:
        where = " ".join(part for part in (self.vehicle_id, self.stop_id) if part)
        return f"{self.kind} [{where}]: {self.detail}"


class Travel(Protocol):
    def bounds(self, vehicle: Vehicle, frm: Hashable, to: Hashable, digits: int) -> tuple[Number, Number]:
        """A lower and an upper bound of the travel time, at least 10**-digits apart unless exact."""
        ...


class MatrixTravel:
    """Travel times exactly as in the problem's integer matrices."""

    def __init__(self, problem: Problem) -> None:
        self._problem = problem

    def bounds(self, vehicle: Vehicle, frm: Hashable, to: Hashable, digits: int) -> tuple[Number, Number]:
        duration = self._problem.matrix_for(vehicle).duration(frm, to)
        return duration, duration


class EuclideanTravel:
    """Travel time = ``scale`` x the exact Euclidean distance between the places' coordinates."""

    def __init__(self, coordinates: Mapping[Hashable, tuple[Number, Number]], scale: Number = 1) -> None:
        self._coordinates = coordinates
        self._scale = Fraction(scale)

    def bounds(self, vehicle: Vehicle, frm: Hashable, to: Hashable, digits: int) -> tuple[Number, Number]:
        (x1, y1), (x2, y2) = self._coordinates[frm], self._coordinates[to]
        squared = (Fraction(x1) - Fraction(x2)) ** 2 + (Fraction(y1) - Fraction(y2)) ** 2
        return sqrt_bounds(squared * self._scale**2, digits)


def sqrt_bounds(value: Fraction, digits: int) -> tuple[Fraction, Fraction]:
    """Fractions lo ≤ √value ≤ hi with hi - lo ≤ 10**-digits (lo = hi when the root is exact at that precision)."""
    if value < 0:
        raise ValueError("no square root of a negative number")
    numerator, denominator = value.numerator, value.denominator
    unit = 10**digits
    # √(n/d) = √(n·d)/d; scaled by 10**digits to keep that many digits of the root.
    radicand = numerator * denominator * unit * unit
    root = math.isqrt(radicand)
    lo = Fraction(root, denominator * unit)
    if root * root == radicand:
        return lo, lo
    return lo, Fraction(root + 1, denominator * unit)


def euclidean_length(points: Sequence[tuple[Number, Number]], digits: int = 30) -> tuple[Fraction, Fraction]:
    """Bounds of the exact length of the polyline through ``points``."""
    lo = hi = Fraction(0)
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        low, high = sqrt_bounds((Fraction(x1) - Fraction(x2)) ** 2 + (Fraction(y1) - Fraction(y2)) ** 2, digits)
        lo += low
        hi += high
    return lo, hi


def _start_intervals(stop: Stop) -> list[tuple[int, int]]:
    # Recomputed here on purpose rather than taken from Stop.start_windows(): a checker that shared the
    # planner's reading of the windows would share its mistakes.
    wanted = [(w.start, w.end) for w in stop.windows] or [(-(2**62), 2**62)]
    if stop.allowed_windows is None:
        return wanted
    intervals = []
    for early, late in wanted:
        for allowed in stop.allowed_windows:
            low, high = max(early, allowed.start), min(late, allowed.end - stop.service)
            if low <= high:
                intervals.append((low, high))
    return intervals


def _earliest(intervals: Iterable[tuple[int, int]], arrival: Number) -> Number | None:
    starts = [max(arrival, low) for low, high in intervals if arrival <= high]
    return min(starts) if starts else None


def _timing(
    problem: Problem, vehicle: Vehicle, stops: Sequence[Stop], travel: Travel, digits: int, optimistic: bool
) -> Violation | None:
    """The first timing violation of the earliest schedule, with travel at its lower or upper bound."""
    pick = 0 if optimistic else 1
    here = vehicle.start.location
    clock: Number = vehicle.shift.start
    for stop in stops:
        arrival = clock + travel.bounds(vehicle, here, stop.location, digits)[pick]
        start = _earliest(_start_intervals(stop), arrival)
        if start is None:
            return Violation("window", vehicle.id, stop.id, f"arrives at {float(arrival):.3f}, after every window")
        clock = start + stop.service
        here = stop.location
    back = clock + travel.bounds(vehicle, here, vehicle.end.location, digits)[pick]
    if back > vehicle.shift.end:
        return Violation("shift_end", vehicle.id, None, f"back at {float(back):.3f}, shift ends {vehicle.shift.end}")
    return None


def _decide_timing(problem: Problem, vehicle: Vehicle, stops: Sequence[Stop], travel: Travel) -> Violation | None:
    digits = FIRST_DIGITS
    while digits <= LAST_DIGITS:
        if _timing(problem, vehicle, stops, travel, digits, optimistic=False) is None:
            return None
        certain = _timing(problem, vehicle, stops, travel, digits, optimistic=True)
        if certain is not None:
            return certain
        digits *= 2
    return Violation("undecided", vehicle.id, None, f"timing not decided at {LAST_DIGITS} digits")


def check_routes(
    problem: Problem, routes: Sequence[tuple[str, Sequence[str]]], travel: Travel | None = None
) -> list[Violation]:
    """Violations of routes given as (vehicle id, stop ids in visiting order), timed as early as possible.

    Checks: known vehicles and stops, each vehicle used at most ``count`` times, every stop at most once
    and every required stop exactly once, capacity, appointment and allowed windows, shift ends.
    """
    travel = travel or MatrixTravel(problem)
    violations: list[Violation] = []
    seen: dict[str, str] = {}
    used: dict[str, int] = {}
    for vehicle_id, stop_ids in routes:
        vehicle = problem.vehicles_by_id.get(vehicle_id)
        if vehicle is None:
            violations.append(Violation("unknown_vehicle", vehicle_id, None, "no such vehicle"))
            continue
        used[vehicle_id] = used.get(vehicle_id, 0) + 1
        if used[vehicle_id] == vehicle.count + 1:
            violations.append(Violation("too_many_routes", vehicle_id, None, f"only {vehicle.count} available"))
        stops: list[Stop] = []
        for stop_id in stop_ids:
            stop = problem.stops_by_id.get(stop_id)
            if stop is None:
                violations.append(Violation("unknown_stop", vehicle_id, stop_id, "no such stop"))
                continue
            if stop_id in seen:
                violations.append(Violation("duplicate_stop", vehicle_id, stop_id, f"also on {seen[stop_id]}"))
                continue
            seen[stop_id] = vehicle_id
            stops.append(stop)
        load = sum(stop.demand for stop in stops)
        if vehicle.capacity is not None and load > vehicle.capacity:
            violations.append(Violation("capacity", vehicle_id, None, f"load {load} > capacity {vehicle.capacity}"))
        timing = _decide_timing(problem, vehicle, stops, travel)
        if timing is not None:
            violations.append(timing)
    for stop in problem.stops:
        if stop.required and stop.id not in seen:
            violations.append(Violation("missing_required", None, stop.id, "a required stop is not planned"))
    return violations


def _at_least(lower: Number, travel: Travel, vehicle: Vehicle, frm: Hashable, to: Hashable, upper: Number) -> bool | None:
    """Whether ``lower`` + travel(frm, to) ≤ ``upper``, deciding exactly."""
    digits = FIRST_DIGITS
    while digits <= LAST_DIGITS:
        lo, hi = travel.bounds(vehicle, frm, to, digits)
        if lower + hi <= upper:
            return True
        if lower + lo > upper:
            return False
        digits *= 2
    return None


def check_plan(problem: Problem, plan: Plan, travel: Travel | None = None) -> list[Violation]:
    """Violations of a plan: its routes as ``check_routes`` sees them, and its stated times too.

    Stated times must keep the shift, leave room for the travel between stops, start each visit inside
    an appointment window and keep the whole visit inside an allowed window. Every stop must be either
    planned or left out, once.
    """
    travel = travel or MatrixTravel(problem)
    violations = check_routes(problem, [(route.vehicle_id, route.stop_ids) for route in plan.routes], travel)
    for route in plan.routes:
        vehicle = problem.vehicles_by_id.get(route.vehicle_id)
        if vehicle is None:
            continue
        if route.depart < vehicle.shift.start:
            violations.append(Violation("shift_start", vehicle.id, None, f"leaves at {route.depart}"))
        if route.arrive > vehicle.shift.end:
            violations.append(Violation("shift_end", vehicle.id, None, f"back at {route.arrive}"))
        here, free_at = vehicle.start.location, route.depart
        for planned in route.stops:
            stop = problem.stops_by_id.get(planned.stop_id)
            if stop is None:
                continue
            if planned.end != planned.start + stop.service:
                violations.append(Violation("service", vehicle.id, stop.id, "end is not start + service time"))
            if stop.windows and not any(w.start <= planned.start <= w.end for w in stop.windows):
                violations.append(Violation("window", vehicle.id, stop.id, f"starts at {planned.start}, outside every appointment window"))
            if stop.allowed_windows is not None and not any(
                w.start <= planned.start and planned.start + stop.service <= w.end for w in stop.allowed_windows
            ):
                violations.append(Violation("allowed_window", vehicle.id, stop.id, "the visit is not inside an allowed window"))
            reachable = _at_least(free_at, travel, vehicle, here, stop.location, planned.start)
            if reachable is not True:
                violations.append(Violation("travel", vehicle.id, stop.id, "starts before the collectors can get there"))
            here, free_at = stop.location, planned.end
        if _at_least(free_at, travel, vehicle, here, vehicle.end.location, route.arrive) is not True:
            violations.append(Violation("travel", vehicle.id, None, "back before the collectors can get there"))
    accounted: dict[str, int] = {}
    for stop_id in [*plan.planned_ids, *(item.stop_id for item in plan.left_out)]:
        accounted[stop_id] = accounted.get(stop_id, 0) + 1
    for stop in problem.stops:
        if accounted.get(stop.id, 0) != 1:
            violations.append(Violation("accounting", None, stop.id, "must be planned or left out, exactly once"))
    return violations
