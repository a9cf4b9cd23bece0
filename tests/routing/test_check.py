"""The independent checker catches every kind of broken plan, and decides exactly."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorstep.routing.check import EuclideanTravel, check_plan, check_routes, euclidean_length, sqrt_bounds
from doorstep.routing.solve import LeftOut, LeftOutReason, Plan, PlannedRoute, PlannedStop, solve
from tests.routing.helpers import pair, plane_day, visit

PLACES = {"branch": (0, 0), "a": (10, 0), "b": (20, 0), "c": (30, 0)}


def day_with(*stops, vehicles=None):  # type: ignore[no-untyped-def]
    return plane_day(PLACES, list(stops), vehicles)


def kinds(violations: list) -> list[str]:  # type: ignore[type-arg]
    return [v.kind for v in violations]


def test_a_sound_route_passes() -> None:
    day = day_with(visit("a", required=True), visit("b", windows=[(30, 40)]))
    assert check_routes(day, [("pair-1", ["a", "b"])]) == []


def test_arriving_after_the_window_is_caught() -> None:
    day = day_with(visit("a", windows=[(0, 5)]))
    assert kinds(check_routes(day, [("pair-1", ["a"])])) == ["window"]


def test_a_visit_that_would_run_past_the_allowed_hours_is_caught() -> None:
    # Arrives at 10, may start then, but the 30-unit visit would end at 40, after the gate's 35.
    day = day_with(visit("a", service=30, allowed=[(0, 35)]))
    assert kinds(check_routes(day, [("pair-1", ["a"])])) == ["window"]


def test_coming_back_after_the_shift_is_caught() -> None:
    day = day_with(visit("c", service=10), vehicles=[pair("pair-1", shift=(0, 69))])
    assert kinds(check_routes(day, [("pair-1", ["c"])])) == ["shift_end"]


def test_too_many_visits_for_the_pair_is_caught() -> None:
    day = day_with(visit("a"), visit("b"), vehicles=[pair("pair-1", capacity=1)])
    assert kinds(check_routes(day, [("pair-1", ["a", "b"])])) == ["capacity"]


def test_a_visit_twice_a_required_visit_missing_and_strangers_are_caught() -> None:
    day = day_with(visit("a"), visit("b", required=True))
    found = kinds(check_routes(day, [("pair-1", ["a", "a", "ghost"]), ("nobody", ["a"])]))
    assert sorted(found) == ["duplicate_stop", "missing_required", "unknown_stop", "unknown_vehicle"]


def test_using_a_pair_twice_is_caught() -> None:
    day = day_with(visit("a"), visit("b"))
    assert kinds(check_routes(day, [("pair-1", ["a"]), ("pair-1", ["b"])])) == ["too_many_routes"]


def planned_day() -> tuple:  # type: ignore[type-arg]
    day = day_with(visit("a", windows=[(20, 100)], allowed=[(0, 200)]), visit("b"))
    plan = solve(day, seconds=1.0, max_iterations=100)
    assert check_plan(day, plan) == []
    return day, plan


def with_first_stop(plan: Plan, **changes: int) -> Plan:
    route = plan.routes[0]
    first = dataclasses.replace(route.stops[0], **changes)
    return dataclasses.replace(plan, routes=(dataclasses.replace(route, stops=(first, *route.stops[1:])),))


def test_a_stated_time_outside_the_windows_is_caught() -> None:
    day, plan = planned_day()
    assert plan.routes[0].stop_ids[0] == "a"
    late = with_first_stop(plan, start=150, end=160)
    assert "window" in kinds(check_plan(day, late))
    after_hours = with_first_stop(plan, start=195, end=205)
    assert {"window", "allowed_window"} <= set(kinds(check_plan(day, after_hours)))


def test_a_stated_time_the_pair_cannot_reach_is_caught() -> None:
    day, plan = planned_day()
    route = plan.routes[0]
    too_soon = dataclasses.replace(plan, routes=(dataclasses.replace(route, depart=15),))
    assert "travel" in kinds(check_plan(day, too_soon))


def test_a_visit_cut_short_is_caught() -> None:
    day, plan = planned_day()
    first = plan.routes[0].stops[0]
    assert "service" in kinds(check_plan(day, with_first_stop(plan, end=first.end - 1)))


def test_every_stop_must_be_planned_or_left_out_once() -> None:
    day, plan = planned_day()
    doubled = dataclasses.replace(plan, left_out=(LeftOut("a", LeftOutReason.NO_TIME, False),))
    forgotten = dataclasses.replace(plan, routes=(dataclasses.replace(plan.routes[0], stops=plan.routes[0].stops[:1]),))
    assert kinds(check_plan(day, doubled)) == ["accounting"]
    assert kinds(check_plan(day, forgotten)) == ["accounting"]


def test_a_route_leaving_before_the_shift_is_caught() -> None:
    day = day_with(visit("a"), vehicles=[pair("pair-1", shift=(100, 1000))])
    route = PlannedRoute("pair-1", 0, 50, (PlannedStop("a", 100, 100, 110),), 120, 20, 20)
    plan = Plan((route,), (), 20, 20, "hand-made", 0, 0.0)
    assert "shift_start" in kinds(check_plan(day, plan))


# ------------------------------------------------------------------------------ exact arithmetic


@given(st.fractions(min_value=0, max_value=10**6, max_denominator=10**6), st.integers(1, 60))
def test_square_root_bounds_bracket_the_root(value: Fraction, digits: int) -> None:
    lo, hi = sqrt_bounds(value, digits)
    assert lo * lo <= value <= hi * hi
    assert hi - lo <= Fraction(1, 10**digits)


def test_perfect_squares_are_exact() -> None:
    assert sqrt_bounds(Fraction(9, 4), 5) == (Fraction(3, 2), Fraction(3, 2))


def test_a_window_met_by_a_hair_is_decided_exactly() -> None:
    # Travel of √2 x (a scale within 1e-40 of 1/√2): just under or just over one unit, far closer to
    # the deadline than the checker's first bounds, which it must narrow before it can answer.
    places = {"branch": (0, 0), "a": (1, 1)}
    below = Fraction(math.isqrt(2 * 10**80), 2 * 10**40)
    above = Fraction(math.isqrt(2 * 10**80) + 1, 2 * 10**40)
    day = plane_day(places, [visit("a", service=0, windows=[(0, 1)])], [pair("pair-1", shift=(0, 100))])
    assert check_routes(day, [("pair-1", ["a"])], EuclideanTravel(places, scale=below)) == []
    assert kinds(check_routes(day, [("pair-1", ["a"])], EuclideanTravel(places, scale=above))) == ["window"]


def test_route_lengths_are_bracketed_tightly() -> None:
    lo, hi = euclidean_length([(0, 0), (3, 4), (3, 5), (0, 0)], digits=20)
    assert float(lo) == pytest.approx(6 + math.sqrt(34))
    assert lo <= hi <= lo + Fraction(3, 10**20)
    assert lo * 1 != hi  # √34 is irrational: the bounds cannot meet


def test_a_negative_square_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        sqrt_bounds(Fraction(-1), 3)
