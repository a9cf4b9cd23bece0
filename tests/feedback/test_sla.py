"""Complaint deadlines across weekends and holidays: a table of receipts and the deadlines they give."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from doorstep.feedback import sla

SHANGHAI = ZoneInfo("Asia/Shanghai")
NATIONAL_DAY = frozenset({dt.date(2026, 10, day) for day in range(1, 8)})


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("received", "days", "holidays", "due"),
    [
        ("2026-11-23T10:00", 1, (), "2026-11-24T10:00"),  # Monday → Tuesday, same hour
        ("2026-11-27T17:30", 1, (), "2026-11-30T17:30"),  # Friday evening → Monday evening
        ("2026-11-28T09:00", 1, (), "2026-12-01T00:00"),  # Saturday → by the end of Monday
        ("2026-11-29T23:59", 1, (), "2026-12-01T00:00"),  # Sunday night → by the end of Monday
        ("2026-11-27T10:00", 3, (), "2026-12-02T10:00"),  # Friday + 3 business days → Wednesday
        ("2026-09-30T15:00", 1, NATIONAL_DAY, "2026-10-08T15:00"),  # before the national holiday
        ("2026-10-03T12:00", 1, NATIONAL_DAY, "2026-10-09T00:00"),  # during it: the end of the 8th
        ("2026-10-03T12:00", 2, NATIONAL_DAY, "2026-10-10T00:00"),
    ],
)
def test_business_day_deadlines(received: str, days: int, holidays: frozenset[dt.date], due: str) -> None:
    assert sla.add_business_days(local(received), days, SHANGHAI, holidays) == local(due)


def test_deadline_is_counted_in_the_borrowers_zone() -> None:
    # Friday 23:30 in Urumqi is already Saturday 01:30 in Beijing: the borrower's Friday counts.
    urumqi = ZoneInfo("Asia/Urumqi")
    received = dt.datetime(2026, 11, 27, 23, 30, tzinfo=urumqi)
    assert sla.add_business_days(received, 1, urumqi) == dt.datetime(2026, 11, 30, 23, 30, tzinfo=urumqi)
    assert sla.add_business_days(received, 1, SHANGHAI) == local("2026-12-01T00:00")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        sla.add_business_days(dt.datetime(2026, 11, 27, 10, 0), 1, SHANGHAI)


def test_holidays_from_settings_text() -> None:
    assert sla.parse_holidays(["2026-10-01", dt.date(2026, 10, 2)]) == {dt.date(2026, 10, 1), dt.date(2026, 10, 2)}
