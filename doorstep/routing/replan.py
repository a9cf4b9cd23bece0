"""Re-plan a day after a visit is cancelled or its window moves, keeping the rest of the plan as the start.

The previous routes (minus what changed) seed the search as PyVRP's initial solution, so stops tend to
stay with the collectors they were given. With ``now``, visits already started are frozen: each route
resumes from its last started visit, and only the rest of the day is planned again.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from doorstep.routing.problem import Depot, Problem, ProblemError, TimeWindow, Vehicle
from doorstep.routing.solve import Plan, PlannedRoute, PlannedStop, solve, warm_start_from


@dataclass(frozen=True, slots=True)
class Replanned:
    """The day as it now stands (``problem``) and its new plan."""

    problem: Problem
    plan: Plan


def replan(
    problem: Problem,
    plan: Plan,
    *,
    cancelled: Iterable[str] = (),
    moved: Mapping[str, Sequence[TimeWindow]] | None = None,
    now: int | None = None,
    seconds: float = 5.0,
    seed: int = 0,
    workers: int = 1,
    max_iterations: int | None = None,
    no_improvement: int | None = None,
) -> Replanned:
    """Drop the ``cancelled`` stops, give the ``moved`` stops their new appointment windows, plan again."""
    moved = dict(moved or {})
    cancelled_ids = set(cancelled)
    for stop_id in [*cancelled_ids, *moved]:
        if stop_id not in problem.stops_by_id:
            raise ProblemError(f"stop {stop_id!r} is not in this day's plan")
    overlap = cancelled_ids & set(moved)
    if overlap:
        raise ProblemError(f"a stop cannot be both cancelled and moved: {sorted(overlap)}")
    stops = [
        dataclasses.replace(stop, windows=tuple(moved[stop.id])) if stop.id in moved else stop
        for stop in problem.stops
        if stop.id not in cancelled_ids
    ]
    day = problem.replace(stops=stops)
    changed = cancelled_ids | set(moved)
    if now is None:
        new_plan = solve(day, seconds=seconds, seed=seed, workers=workers, max_iterations=max_iterations,
                         no_improvement=no_improvement, warm_start=warm_start_from(plan, without=changed))
        return Replanned(day, new_plan)
    return _replan_rest_of_day(day, plan, changed, now, seconds=seconds, seed=seed, workers=workers,
                               max_iterations=max_iterations, no_improvement=no_improvement)


def _replan_rest_of_day(
    day: Problem,
    plan: Plan,
    changed: set[str],
    now: int,
    *,
    seconds: float,
    seed: int,
    workers: int,
    max_iterations: int | None,
    no_improvement: int | None,
) -> Replanned:
    if any(vehicle.count != 1 for vehicle in day.vehicles):
        raise ProblemError("re-planning from a moment of the day needs one vehicle per collector or pair")
    started = time.perf_counter()
    frozen: dict[str, list[PlannedStop]] = {}
    for route in plan.routes:
        done = [stop for stop in route.stops if stop.start < now]
        for stop in done:
            if stop.stop_id in changed:
                raise ProblemError(f"stop {stop.stop_id!r} has already started and cannot change")
        if done:
            frozen[route.vehicle_id] = done
    frozen_ids = {stop.stop_id for done in frozen.values() for stop in done}

    rest_vehicles: list[Vehicle] = []
    for vehicle in day.vehicles:
        done = frozen.get(vehicle.id, [])
        if done:
            last = day.stops_by_id[done[-1].stop_id]
            resume = Depot(f"{vehicle.id}@{last.id}", last.location)
            start = max(now, done[-1].end, vehicle.shift.start)
            load = sum(day.stops_by_id[stop.stop_id].demand for stop in done)
            capacity = None if vehicle.capacity is None else max(0, vehicle.capacity - load)
        else:
            resume, start, capacity = vehicle.start, max(now, vehicle.shift.start), vehicle.capacity
        shift = TimeWindow(min(start, vehicle.shift.end), vehicle.shift.end)
        rest_vehicles.append(dataclasses.replace(vehicle, start=resume, shift=shift, capacity=capacity))
    rest = Problem(
        vehicles=tuple(rest_vehicles),
        stops=tuple(stop for stop in day.stops if stop.id not in frozen_ids),
        matrices=day.matrices,
        day_start=day.day_start,
    )
    warm = [
        (vehicle_id, [s for s in stop_ids if s not in frozen_ids])
        for vehicle_id, stop_ids in warm_start_from(plan, without=changed)
    ]
    rest_plan = solve(rest, seconds=seconds, seed=seed, workers=workers, max_iterations=max_iterations,
                      no_improvement=no_improvement, warm_start=warm)

    routes: list[PlannedRoute] = []
    for vehicle in day.vehicles:
        done = frozen.get(vehicle.id, [])
        later = rest_plan.route_for(vehicle.id)
        if not done and later is None:
            continue
        old = plan.route_for(vehicle.id)
        depart = old.depart if done and old is not None else (later.depart if later else vehicle.shift.start)
        stops = (*done, *(later.stops if later else ()))
        arrive = later.arrive if later else _arrival_back(day, vehicle, done)
        routes.append(_route(day, vehicle, depart, stops, arrive))
    new_plan = dataclasses.replace(
        rest_plan,
        routes=tuple(routes),
        distance=sum(route.distance for route in routes),
        travel=sum(route.travel for route in routes),
        runtime_seconds=time.perf_counter() - started,
    )
    return Replanned(day, new_plan)


def _arrival_back(day: Problem, vehicle: Vehicle, done: Sequence[PlannedStop]) -> int:
    last = day.stops_by_id[done[-1].stop_id]
    return done[-1].end + day.matrix_for(vehicle).duration(last.location, vehicle.end.location)


def _route(day: Problem, vehicle: Vehicle, depart: int, stops: Sequence[PlannedStop], arrive: int) -> PlannedRoute:
    matrix = day.matrix_for(vehicle)
    places = [vehicle.start.location, *(day.stops_by_id[s.stop_id].location for s in stops), vehicle.end.location]
    legs = list(itertools.pairwise(places))
    return PlannedRoute(
        vehicle_id=vehicle.id,
        vehicle_index=0,
        depart=depart,
        stops=tuple(stops),
        arrive=arrive,
        distance=sum(matrix.distance(a, b) for a, b in legs),
        travel=sum(matrix.duration(a, b) for a, b in legs),
    )

