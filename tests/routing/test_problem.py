"""The day as plain data: windows, aware times, the prize of a visit, and refusals of bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from doorstep.routing.matrix import euclidean_matrix
from doorstep.routing.problem import (
    MAX_STRATEGY_PRIORITY,
    Depot,
    Problem,
    ProblemError,
    Stop,
    TimeWindow,
    Vehicle,
    visit_prize,
)
from tests.routing.helpers import pair, plane_day, visit

CHENGDU = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 30, tzinfo=CHENGDU)


def test_a_window_from_aware_times_counts_seconds_from_the_day_start() -> None:
    window = TimeWindow.from_datetimes(DAY, DAY.replace(hour=9), DAY.replace(hour=11, minute=30))
    assert window == TimeWindow(9 * 3600, 11 * 3600 + 1800)


def test_a_window_in_another_zone_is_the_same_instant() -> None:
    in_utc = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 09:00 in Chengdu
    window = TimeWindow.from_datetimes(DAY, in_utc, in_utc + timedelta(hours=1))
    assert window == TimeWindow(9 * 3600, 10 * 3600)


def test_converting_sub_second_times_only_shrinks_the_window() -> None:
    start = DAY + timedelta(seconds=100, microseconds=1)
    end = DAY + timedelta(seconds=200, microseconds=999_999)
    window = TimeWindow.from_datetimes(DAY, start, end)
    assert window == TimeWindow(101, 200)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ProblemError, match="timezone-aware"):
        TimeWindow.from_datetimes(DAY, datetime(2026, 11, 30, 9), DAY.replace(hour=10))


@pytest.mark.parametrize(("start", "end"), [(10, 5), (1.5, 3)])
def test_malformed_windows_are_refused(start: float, end: float) -> None:
    with pytest.raises(ProblemError):
        TimeWindow(start, end)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("appointments", "allowed", "service", "expected"),
    [
        # No constraint from the gate: the appointment windows as they are.
        ([(100, 200)], None, 30, [(100, 200)]),
        # The whole visit must end inside the allowed window: the latest start moves 30 earlier.
        ([(100, 200)], [(0, 210)], 30, [(100, 180)]),
        # Allowed hours start later than the appointment: the start moves later.
        ([(100, 200)], [(150, 1000)], 30, [(150, 200)]),
        # Two allowed stretches split one appointment window in two.
        ([(0, 1000)], [(0, 300), (500, 900)], 100, [(0, 200), (500, 800)]),
        # An allowed stretch shorter than the visit is no use.
        ([(0, 1000)], [(0, 50)], 60, []),
        # No appointment: anywhere in the allowed hours, leaving time for the visit.
        ([], [(480, 1320)], 40, [(480, 1280)]),
    ],
)
def test_start_windows_keep_the_whole_visit_inside_the_allowed_hours(
    appointments: list[tuple[int, int]],
    allowed: list[tuple[int, int]] | None,
    service: int,
    expected: list[tuple[int, int]],
) -> None:
    stop = visit("v", service=service, windows=appointments, allowed=allowed)
    assert [(w.start, w.end) for w in stop.start_windows()] == expected


def test_priority_outranks_any_amount_overdue_and_amount_breaks_ties() -> None:
    modest_but_urgent = visit_prize(overdue_fen=100_00, strategy_priority=2)
    large_but_routine = visit_prize(overdue_fen=10_000_000_00, strategy_priority=1)
    small = visit_prize(overdue_fen=1_000_00, strategy_priority=1)
    assert modest_but_urgent > large_but_routine > small > 0


@pytest.mark.parametrize(("overdue_fen", "priority"), [(-1, 0), (0, -1), (0, MAX_STRATEGY_PRIORITY + 1)])
def test_prize_refuses_nonsense(overdue_fen: int, priority: int) -> None:
    with pytest.raises(ProblemError):
        visit_prize(overdue_fen=overdue_fen, strategy_priority=priority)


def test_two_stops_with_one_id_are_refused() -> None:
    with pytest.raises(ProblemError, match="share the id 'a'"):
        plane_day({"branch": (0, 0), "a": (1, 1)}, [visit("a"), visit("a")])


def test_a_stop_off_the_map_is_refused() -> None:
    with pytest.raises(ProblemError, match=r"'nowhere'.*not in the 'default' travel matrix"):
        plane_day({"branch": (0, 0)}, [Stop(id="nowhere", location="mars", service=5)])


def test_a_vehicle_without_its_travel_profile_is_refused() -> None:
    matrix = euclidean_matrix({"branch": (0, 0)})
    vehicle = Vehicle("pair-1", Depot("branch", "branch"), Depot("branch", "branch"), TimeWindow(0, 10),
                      profile="e-bike")
    with pytest.raises(ProblemError, match="no travel matrix for profile 'e-bike'"):
        Problem(vehicles=(vehicle,), stops=(), matrices={"default": matrix})


def test_a_shift_before_the_day_start_is_refused() -> None:
    with pytest.raises(ProblemError, match="before the day starts"):
        plane_day({"branch": (0, 0)}, [], [pair("early", shift=(-60, 100))])


def test_a_day_without_collectors_is_refused() -> None:
    with pytest.raises(ProblemError, match="no vehicle"):
        Problem(vehicles=(), stops=(), matrices={})


def test_negative_service_and_capacity_are_refused() -> None:
    places = {"branch": (0, 0), "a": (1, 1)}
    with pytest.raises(ProblemError, match="service time cannot be negative"):
        plane_day(places, [visit("a", service=-1)])
    with pytest.raises(ProblemError, match="capacity cannot be negative"):
        plane_day(places, [visit("a")], [pair("p", capacity=-1)])


def test_a_plan_time_reads_back_as_an_aware_moment() -> None:
    day = plane_day({"branch": (0, 0)}, [])
    aware = Problem(vehicles=day.vehicles, stops=(), matrices=day.matrices, day_start=DAY)
    assert aware.at(9 * 3600) == DAY.replace(hour=9)
    with pytest.raises(ProblemError, match="no day start"):
        day.at(0)
