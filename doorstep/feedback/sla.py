"""Complaint deadlines as plain date arithmetic: no Django inside, so the tables in the tests read easily.

A business day is a weekday that is not on the holiday list. "Within N business days" of a complaint
received at some local time means by the same local time N business days later; a complaint received on
a weekend or a holiday counts from the start of the next business day, so one received on a Saturday
must be acknowledged by the end of Monday.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection


def is_business_day(day: dt.date, holidays: Collection[dt.date] = ()) -> bool:
    return day.isoweekday() <= 5 and day not in holidays


def next_business_day(day: dt.date, holidays: Collection[dt.date] = ()) -> dt.date:
    """The first business day strictly after `day`."""
    day += dt.timedelta(days=1)
    while not is_business_day(day, holidays):
        day += dt.timedelta(days=1)
    return day


def add_business_days(
    start: dt.datetime, days: int, zone: dt.tzinfo, holidays: Collection[dt.date] = ()
) -> dt.datetime:
    """The moment `days` business days after `start`, counted in `zone` (a timezone-aware answer)."""
    if start.tzinfo is None:
        raise ValueError("start must carry a time zone")
    local = start.astimezone(zone)
    day, time_of_day = local.date(), local.time().replace(tzinfo=None)
    if not is_business_day(day, holidays):
        # Counted from the start of the next business day: N business days end at midnight after the Nth.
        last = next_business_day(day, holidays)
        for _ in range(max(days, 1) - 1):
            last = next_business_day(last, holidays)
        return dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0, 0), tzinfo=zone)
    for _ in range(days):
        day = next_business_day(day, holidays)
    return dt.datetime.combine(day, time_of_day, tzinfo=zone)


def add_days(start: dt.datetime, days: int) -> dt.datetime:
    if start.tzinfo is None:
        raise ValueError("start must carry a time zone")
    return start + dt.timedelta(days=days)


def parse_holidays(values: Collection[str | dt.date]) -> frozenset[dt.date]:
    return frozenset(value if isinstance(value, dt.date) else dt.date.fromisoformat(value) for value in values)
