"""Planning a day: optimal on small days, honest about what it leaves out, and never outside the windows.

Places lie on a plane where one unit of distance takes one second, so the arithmetic can be followed.
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doorstep.routing.check import EuclideanTravel, check_plan, check_routes
from doorstep.routing.matrix import euclidean_matrix
from doorstep.routing.problem import Depot, Problem, ProblemError, Stop, TimeWindow, Vehicle
from doorstep.routing.solve import LeftOutReason, earliest_start, solve
from tests.routing.helpers import BRANCH, pair, plane_day, visit

QUICK = {"seconds": 2.0, "max_iterations": 400}


def brute_force_distance(problem: Problem) -> int:
    """The shortest feasible single route through every stop, by trying every order."""
    vehicle = problem.vehicles[0]
    matrix = problem.matrix_for(vehicle)
    best = math.inf
    for order in itertools.permutations(problem.stops):
        clock, here, ok = vehicle.shift.start, vehicle.start.location, True
        for stop in order:
            start = earliest_start(stop.start_windows(), clock + matrix.duration(here, stop.location))
            if start is None:
                ok = False
                break
            clock, here = start + stop.service, stop.location
        if ok and clock + matrix.duration(here, vehicle.end.location) <= vehicle.shift.end:
            places = [vehicle.start.location, *(s.location for s in order), vehicle.end.location]
            best = min(best, sum(matrix.distance(a, b) for a, b in itertools.pairwise(places)))
    assert best < math.inf
    return int(best)


def test_a_small_day_is_solved_to_its_known_optimum() -> None:
    places = {"branch": (0, 0), "a": (10, 0), "b": (10, 10), "c": (0, 10), "d": (5, 20), "e": (-5, 5), "f": (15, 5)}
    stops = [visit(name, required=True) for name in "abcdef"]
    day = plane_day(places, stops)
    plan = solve(day, **QUICK)
    assert plan.distance == brute_force_distance(day)
    assert plan.complete and check_plan(day, plan) == []


def test_windows_can_force_a_longer_order_and_the_optimum_still_is_found() -> None:
    places = {"branch": (0, 0), "a": (10, 0), "b": (20, 0), "c": (30, 0), "d": (40, 0)}
    # The far end must be seen first, the near end last: the straight sweep is not allowed.
    stops = [
        visit("d", windows=[(0, 45)], required=True),
        visit("b", windows=[(0, 200)], required=True),
        visit("a", windows=[(150, 400)], required=True),
        visit("c", windows=[(0, 400)], required=True),
    ]
    day = plane_day(places, stops)
    plan = solve(day, **QUICK)
    assert plan.distance == brute_force_distance(day)
    assert plan.routes[0].stop_ids[0] == "d"
    assert check_plan(day, plan) == []


def test_when_time_is_short_optional_visits_go_before_required_ones_and_lowest_prizes_first() -> None:
    places = {"branch": (0, 0), "urgent": (100, 0), "big": (0, 100), "medium": (-100, 0), "small": (0, -100)}
    stops = [
        visit("urgent", service=100, required=True),
        visit("big", service=100, prize=90_000),
        visit("medium", service=100, prize=60_000),
        visit("small", service=100, prize=31_000),
    ]
    # Room for three visits of 100 s with some 540 s of travel, not for four.
    day = plane_day(places, stops, [pair("pair-1", shift=(0, 900))])
    plan = solve(day, **QUICK)
    assert plan.planned_ids == {"urgent", "big", "medium"}
    assert [(x.stop_id, x.reason, x.required) for x in plan.left_out] == [("small", LeftOutReason.NO_TIME, False)]
    assert check_plan(day, plan) == []


def test_visits_that_cannot_happen_are_left_out_with_the_reason() -> None:
    places = {"branch": (0, 0), "near": (10, 0), "gate-closed": (20, 0), "too-far": (5000, 0)}
    stops = [
        visit("near"),
        # Agreed for 21:00-22:00 but the gate allows visits only until 21:30 and the visit takes 40 min.
        visit("gate-closed", service=2400, windows=[(75600, 79200)], allowed=[(28800, 77400)]),
        visit("too-far", required=True),
    ]
    day = plane_day(places, stops, [pair("pair-1", shift=(0, 5000))])
    plan = solve(day, **QUICK)
    assert plan.planned_ids == {"near"}
    reasons = {x.stop_id: (x.reason, x.required) for x in plan.left_out}
    assert reasons == {
        "gate-closed": (LeftOutReason.NO_ALLOWED_WINDOW, False),
        "too-far": (LeftOutReason.WINDOW_UNREACHABLE, True),
    }
    assert not plan.complete


# The first, strict pass of this day cannot be feasible, and PyVRP warns about that; the planner handles it
# and says so in the plan, so no warning may reach the log.
@pytest.mark.filterwarnings("error::pyvrp.exceptions.PenaltyBoundWarning")
def test_required_visits_that_cannot_all_fit_are_planned_as_far_as_possible() -> None:
    places = {"branch": (0, 0), "east": (100, 0), "west": (-100, 0)}
    # Both agreed for the same ten minutes, a hundred units apart in opposite directions.
    stops = [
        visit("east", service=50, windows=[(100, 110)], required=True),
        visit("west", service=50, windows=[(100, 110)], required=True),
    ]
    day = plane_day(places, stops)
    plan = solve(day, **QUICK)
    assert len(plan.planned_ids) == 1
    assert [(x.reason, x.required) for x in plan.left_out] == [(LeftOutReason.NO_TIME, True)]
    assert not plan.complete
    assert [v.kind for v in check_plan(day, plan)] == ["missing_required"]


def test_a_visit_with_two_windows_takes_the_one_it_can_reach() -> None:
    places = {"branch": (0, 0), "a": (100, 0)}
    day = plane_day(places, [visit("a", windows=[(0, 50), (500, 600)], required=True)])
    plan = solve(day, **QUICK)
    (planned,) = plan.routes[0].stops
    assert planned.start == 500
    assert plan.routes[0].depart == 400  # leaves as late as still lets the visit start at 500
    assert planned.arrival == 500 and planned.wait == 0
    assert (plan.travel, plan.working_seconds) == (200, 210)  # 100 there, 10 at the door, 100 back


def test_capacity_in_visits_is_kept() -> None:
    places = {"branch": (0, 0), "a": (1, 0), "b": (2, 0), "c": (3, 0)}
    day = plane_day(places, [visit(n) for n in "abc"], [pair("pair-1", capacity=2)])
    plan = solve(day, **QUICK)
    assert len(plan.planned_ids) == 2
    assert [x.reason for x in plan.left_out] == [LeftOutReason.NO_TIME]


def test_each_pair_starts_and_ends_where_it_should() -> None:
    places = {"branch": (0, 0), "home-zhao": (1000, 0), "a": (1010, 0), "b": (10, 0)}
    home = Depot("home-zhao", "home-zhao")
    vehicles = [pair("from-branch"), pair("from-home", start=home, end=home)]
    day = plane_day(places, [visit("a", required=True), visit("b", required=True)], vehicles)
    plan = solve(day, **QUICK)
    assert plan.route_for("from-home").stop_ids == ("a",)  # type: ignore[union-attr]
    assert plan.route_for("from-branch").stop_ids == ("b",)  # type: ignore[union-attr]
    assert plan.distance == 40


def test_a_day_with_nothing_to_do_is_an_empty_plan() -> None:
    day = plane_day({"branch": (0, 0)}, [])
    plan = solve(day, **QUICK)
    assert plan.routes == () and plan.left_out == () and plan.complete
    assert plan.solver.startswith("pyvrp ")


def test_negative_search_time_is_refused() -> None:
    with pytest.raises(ProblemError):
        solve(plane_day({"branch": (0, 0)}, []), seconds=-1)


def test_no_search_at_all_is_refused() -> None:
    with pytest.raises(ProblemError):
        solve(plane_day({"branch": (0, 0)}, []), workers=0)


def test_searches_side_by_side_in_worker_processes_find_the_optimum_too() -> None:
    places = {"branch": (0, 0), "a": (10, 0), "b": (10, 10), "c": (0, 10), "d": (5, 20), "e": (-5, 5), "f": (15, 5)}
    stops = [visit("a", windows=[(0, 60)], required=True), *(visit(name, required=True) for name in "bcdef")]
    day = plane_day(places, stops)
    alone = solve(day, **QUICK)
    side_by_side = solve(day, workers=3, **QUICK)
    assert side_by_side.distance == alone.distance == brute_force_distance(day)
    assert side_by_side.complete and check_plan(day, side_by_side) == []


# ---------------------------------------------------------------------------- scaling keeps windows


def test_rounded_up_times_keep_a_tight_window_honest() -> None:
    # √2 ≈ 1.41421 units away and the visit must start by 1.414: exactly, it cannot be reached in time.
    places = {"branch": (0, 0), "a": (1, 1)}
    stops = [visit("a", windows=[(0, 1414)], service=0)]
    day = plane_day(places, stops, [pair("pair-1", shift=(0, 10_000))], scale=1000)
    plan = solve(day, **QUICK)
    assert plan.planned_ids == set()
    # Had the times been rounded down, the plan would have kept a visit the exact check refuses.
    exact = EuclideanTravel(places, scale=1000)
    kinds = [v.kind for v in check_routes(day, [("pair-1", ["a"])], exact)]
    assert kinds == ["window"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(-50, 50), st.integers(-50, 50)), min_size=2, max_size=8),
    st.lists(st.tuples(st.integers(0, 300), st.integers(5, 120), st.integers(0, 30)), min_size=8, max_size=8),
)
def test_plans_on_scaled_data_are_feasible_with_exact_euclidean_travel(
    coordinates: list[tuple[int, int]], shapes: list[tuple[int, int, int]]
) -> None:
    places = {"branch": (0, 0), **{f"s{i}": xy for i, xy in enumerate(coordinates)}}
    stops = [
        visit(f"s{i}", service=service * 1000, windows=[(ready * 1000, (ready + width) * 1000)])
        for i, (ready, width, service) in zip(range(len(coordinates)), shapes, strict=False)
    ]
    day = plane_day(places, stops, [pair("pair-1", shift=(0, 600_000)), pair("pair-2", shift=(0, 600_000))],
                    scale=1000)
    plan = solve(day, seconds=1.0, max_iterations=150)
    assert check_plan(day, plan, EuclideanTravel(places, scale=1000)) == []


# ------------------------------------------------------------------- compliance by construction

HOUR = 3600
window = st.tuples(st.integers(0, 23 * HOUR), st.integers(10 * 60, 6 * HOUR)).map(lambda t: (t[0], t[0] + t[1]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(-3000, 3000),
            st.integers(-3000, 3000),
            st.integers(10, 60),
            st.lists(window, max_size=2),
            st.lists(window, min_size=1, max_size=2),
            st.booleans(),
        ),
        min_size=1,
        max_size=7,
    )
)
def test_no_planned_visit_lies_outside_the_windows_the_gate_allows(
    visits: list[tuple[int, int, int, list[tuple[int, int]], list[tuple[int, int]], bool]],
) -> None:
    places: dict[str, tuple[int, int]] = {"branch": (0, 0)}
    stops: list[Stop] = []
    for n, (x, y, minutes, appointments, allowed, required) in enumerate(visits):
        places[f"v{n}"] = (x, y)
        stops.append(visit(f"v{n}", service=minutes * 60, windows=appointments, allowed=allowed, required=required))
    day = plane_day(places, stops, [pair("pair-1", shift=(9 * HOUR, 18 * HOUR)),
                                    pair("pair-2", shift=(8 * HOUR, 20 * HOUR))])
    plan = solve(day, seconds=1.0, max_iterations=150)
    for route in plan.routes:
        for planned in route.stops:
            stop = day.stops_by_id[planned.stop_id]
            assert any(w.start <= planned.start and planned.end <= w.end for w in stop.allowed_windows or ())
            assert not stop.windows or any(w.start <= planned.start <= w.end for w in stop.windows)
    assert [v for v in check_plan(day, plan) if v.kind != "missing_required"] == []
    assert {x.stop_id for x in plan.left_out} | plan.planned_ids == set(day.stops_by_id)


def test_real_world_plan_reads_as_aware_times() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    day_start = datetime(2026, 11, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    matrix = euclidean_matrix({"branch": (0, 0), "a": (600, 0)}, scale=1)
    vehicle = Vehicle("pair-1", BRANCH, BRANCH, TimeWindow(9 * HOUR, 18 * HOUR))
    stop = Stop("a", "a", service=1800, windows=(TimeWindow(10 * HOUR, 11 * HOUR),), required=True)
    day = Problem(vehicles=(vehicle,), stops=(stop,), matrices={"default": matrix}, day_start=day_start)
    plan = solve(day, **QUICK)
    (planned,) = plan.routes[0].stops
    assert day.at(planned.start) == day_start.replace(hour=10)
    assert day.at(plan.routes[0].depart) == day_start.replace(hour=9, minute=50)
