"""Re-planning: a borrower cancels, another moves the appointment, and the day goes on."""

from __future__ import annotations

import pytest

from doorstep.routing.check import check_plan
from doorstep.routing.problem import ProblemError, TimeWindow
from doorstep.routing.replan import replan
from doorstep.routing.solve import solve
from tests.routing.helpers import pair, plane_day, visit

QUICK = {"seconds": 2.0, "max_iterations": 300}
# Two clusters, one per pair: east of the branch and west of it.
PLACES = {
    "branch": (0, 0),
    "e1": (100, 0), "e2": (110, 10), "e3": (120, 0), "e4": (110, -10),
    "w1": (-100, 0), "w2": (-110, 10), "w3": (-120, 0), "w4": (-110, -10),
}


def the_day():  # type: ignore[no-untyped-def]
    stops = [visit(name, service=60, required=True) for name in PLACES if name != "branch"]
    return plane_day(PLACES, stops, [pair("east-pair", shift=(0, 2000)), pair("west-pair", shift=(0, 2000))])


def test_a_cancelled_visit_leaves_the_plan_and_the_rest_stay_with_their_pairs() -> None:
    day = the_day()
    plan = solve(day, **QUICK)
    before = {stop_id: route.vehicle_id for route in plan.routes for stop_id in route.stop_ids}

    result = replan(day, plan, cancelled=["e2"], **QUICK)

    assert "e2" not in result.problem.stops_by_id
    assert "e2" not in result.plan.planned_ids
    after = {stop_id: route.vehicle_id for route in result.plan.routes for stop_id in route.stop_ids}
    assert after == {stop_id: vehicle for stop_id, vehicle in before.items() if stop_id != "e2"}
    assert result.plan.distance <= plan.distance
    assert check_plan(result.problem, result.plan) == []


def test_a_moved_appointment_is_planned_in_its_new_window() -> None:
    day = the_day()
    plan = solve(day, **QUICK)

    result = replan(day, plan, moved={"w3": [TimeWindow(1500, 1600)]}, **QUICK)

    route = next(r for r in result.plan.routes if "w3" in r.stop_ids)
    moved = next(s for s in route.stops if s.stop_id == "w3")
    assert 1500 <= moved.start <= 1600
    assert result.plan.complete
    assert check_plan(result.problem, result.plan) == []


def test_mid_day_the_visits_already_started_stay_as_they_were() -> None:
    day = the_day()
    plan = solve(day, **QUICK)
    east = plan.route_for(next(r.vehicle_id for r in plan.routes if "e1" in r.stop_ids))
    assert east is not None
    now = east.stops[1].start + 1  # the second visit of that pair is under way
    last_cancellable = east.stops[-1].stop_id

    result = replan(day, plan, cancelled=[last_cancellable], now=now, **QUICK)

    new_east = result.plan.route_for(east.vehicle_id)
    assert new_east is not None
    assert new_east.stops[:2] == east.stops[:2]
    assert new_east.depart == east.depart
    assert last_cancellable not in result.plan.planned_ids
    started = {stop for route in plan.routes for stop in route.stops if stop.start < now}
    new_stops = {stop for route in result.plan.routes for stop in route.stops}
    assert started <= new_stops  # every visit under way or done keeps its times
    assert all(stop.start >= now for stop in new_stops - started)  # nothing new is planned in the past
    assert check_plan(result.problem, result.plan) == []


def test_a_visit_already_under_way_cannot_be_cancelled() -> None:
    day = the_day()
    plan = solve(day, **QUICK)
    first = plan.routes[0].stops[0]
    with pytest.raises(ProblemError, match="already started"):
        replan(day, plan, cancelled=[first.stop_id], now=first.start + 1, **QUICK)


def test_unknown_or_contradictory_changes_are_refused_and_change_nothing() -> None:
    day = the_day()
    plan = solve(day, **QUICK)
    with pytest.raises(ProblemError, match="'nope' is not in this day"):
        replan(day, plan, cancelled=["nope"], **QUICK)
    with pytest.raises(ProblemError, match="both cancelled and moved"):
        replan(day, plan, cancelled=["e1"], moved={"e1": [TimeWindow(0, 10)]}, **QUICK)
    assert len(day.stops) == 8 and plan.complete
