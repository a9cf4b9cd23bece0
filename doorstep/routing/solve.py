"""Plan a day with PyVRP: build the model from a ``Problem``, solve, and turn the answer into a ``Plan``.

Every stop has one or more windows in which it may start; a stop with several becomes a group of
mutually exclusive copies, one per window. Stops no vehicle could serve even alone are left out
before solving, with the reason. Times and ETAs in the plan are recomputed here from the integer
matrix (earliest service, departure as late as that allows), so a plan never depends on the solver's
own bookkeeping; ``check.py`` verifies plans independently.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
import warnings
from collections.abc import Collection, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.metadata import version

import numpy as np
from pyvrp import (
    Activity,
    ActivityType,
    Client,
    ClientGroup,
    Location,
    PenaltyParams,
    ProblemData,
    Route,
    Solution,
    SolveParams,
    VehicleType,
)
from pyvrp import Depot as SolverDepot
from pyvrp import search as pyvrp_search
from pyvrp import solve as pyvrp_solve
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, NoImprovement, StoppingCriterion

from doorstep.routing.problem import PRIZE_BASE, Problem, ProblemError, Stop, TimeWindow, Vehicle


class LeftOutReason(StrEnum):
    """Why a stop is not in the plan (the visits app shows these translated)."""

    NO_ALLOWED_WINDOW = "no_allowed_window"  # no appointment window overlaps an allowed window for the whole visit
    WINDOW_UNREACHABLE = "window_unreachable"  # no vehicle could get there in a window and back within its shift
    NO_TIME = "no_time"  # it fits alone, but not together with the day's higher-priority work


@dataclass(frozen=True, slots=True)
class PlannedStop:
    stop_id: str
    arrival: int
    start: int
    end: int

    @property
    def wait(self) -> int:
        return self.start - self.arrival


@dataclass(frozen=True, slots=True)
class PlannedRoute:
    """One vehicle's day: leave ``depart``, serve ``stops`` in order, be back at ``arrive``."""

    vehicle_id: str
    vehicle_index: int
    depart: int
    stops: tuple[PlannedStop, ...]
    arrive: int
    distance: int
    travel: int

    @property
    def stop_ids(self) -> tuple[str, ...]:
        return tuple(stop.stop_id for stop in self.stops)


@dataclass(frozen=True, slots=True)
class LeftOut:
    stop_id: str
    reason: LeftOutReason
    required: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """The answer: routes, the stops left out and why, totals, and what produced it."""

    routes: tuple[PlannedRoute, ...]
    left_out: tuple[LeftOut, ...]
    distance: int
    travel: int
    solver: str
    seed: int
    runtime_seconds: float

    @property
    def working_seconds(self) -> int:
        """Time out of the branch or home, summed over the routes: travel, visits and waiting."""
        return sum(route.arrive - route.depart for route in self.routes)

    @property
    def complete(self) -> bool:
        """Every required stop is planned."""
        return not any(item.required for item in self.left_out)

    @property
    def planned_ids(self) -> set[str]:
        return {stop_id for route in self.routes for stop_id in route.stop_ids}

    def route_for(self, vehicle_id: str, vehicle_index: int = 0) -> PlannedRoute | None:
        for route in self.routes:
            if route.vehicle_id == vehicle_id and route.vehicle_index == vehicle_index:
                return route
        return None


@cache
def solver_name() -> str:
    return f"pyvrp {version('pyvrp')}"


def earliest_start(windows: Sequence[TimeWindow], arrival: int) -> int | None:
    """The earliest moment at or after ``arrival`` inside one of ``windows`` (sorted by start), if any."""
    best: int | None = None
    for window in windows:
        if window.end >= arrival:
            candidate = max(arrival, window.start)
            if best is None or candidate < best:
                best = candidate
    return best


def schedule_route(
    problem: Problem, vehicle: Vehicle, vehicle_index: int, stop_ids: Sequence[str]
) -> tuple[PlannedRoute, list[str]]:
    """ETAs for ``stop_ids`` in this order; stops that cannot be served in time are skipped and returned."""
    matrix = problem.matrix_for(vehicle)
    stops = [problem.stops_by_id[stop_id] for stop_id in stop_ids]
    capacity = vehicle.capacity
    load = 0
    kept: list[PlannedStop] = []
    skipped: list[str] = []
    here = vehicle.start.location
    clock = vehicle.shift.start
    for stop in stops:
        arrival = clock + matrix.duration(here, stop.location)
        start = earliest_start(stop.start_windows(), arrival)
        fits_load = capacity is None or load + stop.demand <= capacity
        if start is None or not fits_load:
            skipped.append(stop.id)
            continue
        end = start + stop.service
        back = end + matrix.duration(stop.location, vehicle.end.location)
        if back > vehicle.shift.end:
            skipped.append(stop.id)
            continue
        kept.append(PlannedStop(stop.id, arrival, start, end))
        load += stop.demand
        here = stop.location
        clock = end
    depart = vehicle.shift.start
    if kept:
        # Leave as late as still lets the first visit start at the same moment: waiting at the door helps nobody.
        first = problem.stops_by_id[kept[0].stop_id]
        depart = max(depart, kept[0].start - matrix.duration(vehicle.start.location, first.location))
        kept[0] = PlannedStop(kept[0].stop_id, depart + matrix.duration(vehicle.start.location, first.location),
                              kept[0].start, kept[0].end)
    places = [vehicle.start.location, *(problem.stops_by_id[s.stop_id].location for s in kept), vehicle.end.location]
    distance = sum(matrix.distance(a, b) for a, b in itertools.pairwise(places))
    travel = sum(matrix.duration(a, b) for a, b in itertools.pairwise(places))
    arrive = (kept[-1].end if kept else depart) + matrix.duration(places[-2], places[-1])
    route = PlannedRoute(vehicle.id, vehicle_index, depart, tuple(kept), arrive, distance, travel)
    return route, skipped


def _servable_alone(problem: Problem, stop: Stop, windows: Sequence[TimeWindow]) -> bool:
    for vehicle in problem.vehicles:
        if vehicle.capacity is not None and stop.demand > vehicle.capacity:
            continue
        matrix = problem.matrix_for(vehicle)
        start = earliest_start(windows, vehicle.shift.start + matrix.duration(vehicle.start.location, stop.location))
        if start is None:
            continue
        if start + stop.service + matrix.duration(stop.location, vehicle.end.location) <= vehicle.shift.end:
            return True
    return False


@dataclass(frozen=True)
class _Model:
    data: ProblemData
    clients: list[tuple[Stop, TimeWindow]]
    vehicle_types: list[Vehicle]
    clients_by_stop: dict[str, list[int]]


def _build(problem: Problem, stops: Sequence[Stop], soft_required: bool) -> _Model:
    vehicles = list(problem.vehicles)
    keys: list[object] = []
    seen: dict[object, int] = {}
    for key in [*(v.start.location for v in vehicles), *(v.end.location for v in vehicles),
                *(s.location for s in stops)]:
        if key not in seen:
            seen[key] = len(keys)
            keys.append(key)
    locations = [Location(x=float(getattr(key, "lon", 0.0)), y=float(getattr(key, "lat", 0.0))) for key in keys]

    depot_of: dict[object, int] = {}
    depots: list[SolverDepot] = []
    for vehicle in vehicles:
        for key in (vehicle.start.location, vehicle.end.location):
            if key not in depot_of:
                depot_of[key] = len(depots)
                depots.append(SolverDepot(location=seen[key]))

    profiles = sorted({vehicle.profile for vehicle in vehicles})
    distance_matrices = []
    duration_matrices = []
    for profile in profiles:
        matrix = problem.matrices[profile]
        rows = np.array([matrix.index(key) for key in keys], dtype=np.int64)
        distance_matrices.append(np.ascontiguousarray(matrix.distances[np.ix_(rows, rows)]))
        duration_matrices.append(np.ascontiguousarray(matrix.durations[np.ix_(rows, rows)]))

    with_load = any(vehicle.capacity is not None for vehicle in vehicles)
    total_demand = sum(stop.demand for stop in stops)
    # When required stops cannot all fit and become optional, each is worth more than the twenty best
    # optional ones together: more than the time one visit takes could ever hold instead.
    required_prize = 20 * max([stop.prize for stop in stops if not stop.required] + [PRIZE_BASE])

    clients: list[Client] = []
    client_map: list[tuple[Stop, TimeWindow]] = []
    groups: list[ClientGroup] = []
    clients_by_stop: dict[str, list[int]] = {}
    for stop in stops:
        windows = stop.start_windows()
        hard = stop.required and not soft_required
        prize = required_prize if stop.required and soft_required else stop.prize
        group_index: int | None = None
        if len(windows) > 1:
            group_index = len(groups)
            groups.append(ClientGroup(required=hard, name=stop.id))
        for window in windows:
            index = len(clients)
            clients.append(
                Client(
                    location=seen[stop.location],
                    delivery=[stop.demand] if with_load else [],
                    service_duration=stop.service,
                    tw_early=max(window.start, 0),
                    tw_late=window.end,
                    prize=0 if hard else prize,
                    required=hard and group_index is None,
                    group=group_index,
                    name=stop.id,
                )
            )
            if group_index is not None:
                groups[group_index].add_client(index)
            client_map.append((stop, window))
            clients_by_stop.setdefault(stop.id, []).append(index)

    vehicle_types = [
        VehicleType(
            num_available=vehicle.count,
            capacity=[(total_demand if vehicle.capacity is None else vehicle.capacity)] if with_load else [],
            start_depot=depot_of[vehicle.start.location],
            end_depot=depot_of[vehicle.end.location],
            tw_early=vehicle.shift.start,
            tw_late=vehicle.shift.end,
            unit_distance_cost=vehicle.distance_cost,
            unit_duration_cost=vehicle.duration_cost,
            profile=profiles.index(vehicle.profile),
            name=vehicle.id,
        )
        for vehicle in vehicles
    ]
    data = ProblemData(locations, clients, depots, vehicle_types, distance_matrices, duration_matrices, groups)
    return _Model(data, client_map, vehicles, clients_by_stop)


# Moves for pickup-and-delivery pairs: a field visit is never one, so they would only cost search time.
SHIPMENT_OPERATORS = frozenset({
    pyvrp_search.RelocatePickup, pyvrp_search.RelocateDelivery, pyvrp_search.RelocateShipment,
    pyvrp_search.RemoveOptionalShipment, pyvrp_search.InsertOptionalShipment, pyvrp_search.ReplaceOptionalShipment,
})
OPTIONAL_OPERATORS = frozenset({
    pyvrp_search.RemoveOptionalClient, pyvrp_search.InsertOptionalClient, pyvrp_search.ReplaceOptionalClient,
})
GROUP_OPERATORS = frozenset({pyvrp_search.ReplaceGroup, pyvrp_search.RelocateAlternative})


# How many candidate solutions pass between two adjustments of the penalties for late arrival and overload
# (PyVRP's default is 500). A search of a few seconds tries only some thousands of candidates on a day of
# 100 visits, so with 500 the penalties would move a handful of times; with 100 they settle within the
# first second. Measured on Solomon's 39 R and RC instances, 5 s, best of two seeds, R109 and RC103 left
# out: mean gap +0.14% against +0.21% with 500 (two runs each).
PENALTY_UPDATE_EVERY = 100


def _params(data: ProblemData) -> SolveParams:
    """PyVRP's search with only the moves this problem can use, and penalties that adapt within seconds."""
    unused = set(SHIPMENT_OPERATORS)
    if all(client.required for client in data.clients()):
        unused |= OPTIONAL_OPERATORS
    if data.num_groups == 0:
        unused |= GROUP_OPERATORS
    return SolveParams(
        penalty=PenaltyParams(solutions_between_updates=PENALTY_UPDATE_EVERY),
        operators=[operator for operator in pyvrp_search.OPERATORS if operator not in unused],
    )


def _stopping(seconds: float, max_iterations: int | None, no_improvement: int | None) -> StoppingCriterion:
    criteria: list[StoppingCriterion] = [MaxRuntime(seconds)]
    if max_iterations is not None:
        criteria.append(MaxIterations(max_iterations))
    if no_improvement is not None:
        criteria.append(NoImprovement(no_improvement))
    return MultipleCriteria(criteria)


def _initial_solution(
    model: _Model, problem: Problem, warm_start: Sequence[tuple[str, Sequence[str]]]
) -> Solution | None:
    type_of = {vehicle.id: index for index, vehicle in enumerate(model.vehicle_types)}
    used: dict[int, int] = {}
    taken: set[str] = set()
    routes: list[Route] = []
    for vehicle_id, stop_ids in warm_start:
        if vehicle_id not in type_of:
            continue
        vehicle_type = type_of[vehicle_id]
        if used.get(vehicle_type, 0) >= model.vehicle_types[vehicle_type].count:
            continue
        visits: list[Activity] = []
        for stop_id in stop_ids:
            if stop_id in taken or stop_id not in model.clients_by_stop:
                continue
            taken.add(stop_id)
            visits.append(Activity(ActivityType.CLIENT, model.clients_by_stop[stop_id][0]))
        if visits:
            used[vehicle_type] = used.get(vehicle_type, 0) + 1
            routes.append(Route(model.data, visits, vehicle_type))
    if not routes:
        return None
    try:
        return Solution(model.data, routes)
    except (ValueError, RuntimeError):
        # A start PyVRP cannot take (it checks more than we do) only costs the warm start, not the plan.
        return None


def _search(
    data: ProblemData,
    deadline: float,
    seed: int,
    max_iterations: int | None,
    no_improvement: int | None,
    initial: Solution | None,
) -> tuple[float, Solution]:
    """One search until ``deadline`` (``time.monotonic()``): its objective (inf when infeasible) and best solution.
    Runs in this process or in a worker process."""
    seconds = max(0.0, deadline - time.monotonic())
    with warnings.catch_warnings():
        # PyVRP warns when a day cannot be planned without lateness or overload. ``solve`` deals with
        # that itself (required visits become optional and the plan says which were left out), so the
        # warning's advice to check the instance would only mislead whoever reads the log.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp_solve(
            data,
            _stopping(seconds, max_iterations, no_improvement),
            seed=seed,
            collect_stats=False,
            display=False,
            params=_params(data),
            initial_solution=initial,
        )
    return result.cost(), result.best


@cache
def _workers(count: int) -> ProcessPoolExecutor:
    """Processes for the extra searches, started once and kept. A fork server starts them, so a caller's
    threads and open connections are never copied into them."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return ProcessPoolExecutor(max_workers=count, mp_context=context)


def _run(
    model: _Model,
    problem: Problem,
    *,
    seconds: float,
    seed: int,
    workers: int,
    max_iterations: int | None,
    no_improvement: int | None,
    warm_start: Sequence[tuple[str, Sequence[str]]] | None,
) -> Solution:
    """The best of ``workers`` independent searches (seeds ``seed``, ``seed + 1``, ...) run side by side."""
    initial = _initial_solution(model, problem, warm_start) if warm_start else None
    deadline = time.monotonic() + seconds
    others = [
        _workers(workers - 1).submit(_search, model.data, deadline, seed + k, max_iterations, no_improvement, initial)
        for k in range(1, workers)
    ]
    results = [_search(model.data, deadline, seed, max_iterations, no_improvement, initial)]
    results += [future.result() for future in others]
    # Among equal costs this process's plan is kept: more searches never swap a plan for one just as good.
    return min(results, key=lambda result: result[0])[1]


def solve(
    problem: Problem,
    *,
    seconds: float = 10.0,
    seed: int = 0,
    workers: int = 1,
    max_iterations: int | None = None,
    no_improvement: int | None = None,
    warm_start: Sequence[tuple[str, Sequence[str]]] | None = None,
) -> Plan:
    """Plan ``problem`` within ``seconds`` of search (fewer with ``max_iterations``/``no_improvement``).

    With ``workers`` above 1, as many independent searches (seeds ``seed`` upwards) run side by side in
    separate processes for the same ``seconds``, and the best plan is kept: better plans in the same
    time on a machine with that many cores.

    ``warm_start`` lists (vehicle id, stop ids in order) routes to start the search from. Required stops
    are hard constraints; if they cannot all be served, the search runs again with them as optional stops
    worth more than everything else, and those still left out are reported with ``required=True``.
    """
    if seconds < 0:
        raise ProblemError("the search time cannot be negative")
    if workers < 1:
        raise ProblemError("at least one search must run")
    started = time.perf_counter()
    left_out: list[LeftOut] = []
    candidates: list[Stop] = []
    for stop in problem.stops:
        windows = stop.start_windows()
        if not windows:
            left_out.append(LeftOut(stop.id, LeftOutReason.NO_ALLOWED_WINDOW, stop.required))
        elif not _servable_alone(problem, stop, windows):
            left_out.append(LeftOut(stop.id, LeftOutReason.WINDOW_UNREACHABLE, stop.required))
        else:
            candidates.append(stop)

    orders: list[tuple[Vehicle, list[str]]] = []
    if candidates:
        model = _build(problem, candidates, soft_required=False)
        best = _run(model, problem, seconds=seconds, seed=seed, workers=workers, max_iterations=max_iterations,
                    no_improvement=no_improvement, warm_start=warm_start)
        if not best.is_feasible() and any(stop.required for stop in candidates):
            model = _build(problem, candidates, soft_required=True)
            best = _run(model, problem, seconds=seconds, seed=seed, workers=workers, max_iterations=max_iterations,
                        no_improvement=no_improvement, warm_start=warm_start)
        for solver_route in best.routes():
            vehicle = model.vehicle_types[solver_route.vehicle_type()]
            order = [model.clients[activity.idx][0].id for activity in solver_route.schedule() if activity.is_client()]
            orders.append((vehicle, order))

    routes: list[PlannedRoute] = []
    planned: set[str] = set()
    next_index: dict[str, int] = {}
    for vehicle, order in orders:
        route, skipped = schedule_route(problem, vehicle, next_index.get(vehicle.id, 0), order)
        del skipped  # reported below as left out for lack of time
        if route.stops:
            next_index[vehicle.id] = route.vehicle_index + 1
            routes.append(route)
            planned.update(route.stop_ids)
    for stop in candidates:
        if stop.id not in planned:
            left_out.append(LeftOut(stop.id, LeftOutReason.NO_TIME, stop.required))

    routes.sort(key=lambda r: (problem.vehicles.index(problem.vehicles_by_id[r.vehicle_id]), r.vehicle_index))
    order_of = {stop.id: position for position, stop in enumerate(problem.stops)}
    left_out.sort(key=lambda item: order_of[item.stop_id])
    return Plan(
        routes=tuple(routes),
        left_out=tuple(left_out),
        distance=sum(route.distance for route in routes),
        travel=sum(route.travel for route in routes),
        solver=solver_name(),
        seed=seed,
        runtime_seconds=time.perf_counter() - started,
    )


def warm_start_from(plan: Plan, *, without: Collection[str] = frozenset()) -> list[tuple[str, list[str]]]:
    """A plan's routes as (vehicle id, stop ids) for ``solve(warm_start=...)``, minus the ``without`` stops."""
    return [
        (route.vehicle_id, [stop_id for stop_id in route.stop_ids if stop_id not in without])
        for route in plan.routes
    ]
