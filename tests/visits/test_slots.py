"""Appointment slots as plain data: days by sweep, windows inside the shift."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from doorstep.visits.slots import Place, bearing_order, day_windows, split_into_days, spread_over_windows

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = dt.date(2026, 12, 7)


def test_the_sweep_keeps_each_sector_together() -> None:
    east = [Place(n, 30.0 + n * 0.001, 104.2) for n in range(3)]
    west = [Place(10 + n, 30.0 + n * 0.001, 103.8) for n in range(3)]
    order = [p.key for p in bearing_order(east + west, (30.0, 104.0))]
    first_three = set(order[:3])
    assert first_three in ({0, 1, 2}, {10, 11, 12})


def test_days_fill_from_the_earliest_up_to_their_room_and_never_before_the_due_day() -> None:
    tuesday = MONDAY + dt.timedelta(days=1)
    days, left = split_into_days([1, 2, 3, 4, 5], [(MONDAY, 2), (tuesday, 2)], due={3: tuesday})
    assert days == {1: MONDAY, 2: MONDAY, 3: tuesday, 4: tuesday}
    assert left == [5]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("09:00", "18:00", ["09:00-11:00", "11:00-13:00", "13:00-15:00", "15:00-17:00", "17:00-18:00"]),
        ("10:00", "18:30", ["10:00-12:00", "12:00-14:00", "14:00-16:00", "16:00-18:00"]),
    ],
)
def test_windows_lie_inside_the_shift(start: str, end: str, expected: list[str]) -> None:
    windows = day_windows(MONDAY, dt.time.fromisoformat(start), dt.time.fromisoformat(end), SHANGHAI)
    assert [f"{a:%H:%M}-{b:%H:%M}" for a, b in windows] == expected


def test_consecutive_visits_share_a_window() -> None:
    assert spread_over_windows(7, 4) == [0, 0, 1, 1, 2, 2, 3]
    assert spread_over_windows(2, 5) == [0, 1]
    assert spread_over_windows(3, 0) == []
