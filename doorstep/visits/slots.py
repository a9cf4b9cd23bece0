"""Appointment slots for a crew's visits, as plain data: which day, which window.

A crew's visits over the horizon are swept by bearing around the crew's start (its lead's home), and the
sweep is cut into consecutive runs, one per working day from the earliest, each no larger than the day's
room: visits close together land on the same day, and due visits are not put off. Within a day the same order gives the windows, so the route runs round
the sweep from the first window to the last.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

WINDOW_MINUTES = 120


@dataclass(frozen=True)
class Place:
    key: int
    lat: float
    lon: float


def bearing_order(places: Sequence[Place], centre: tuple[float, float] | None) -> list[Place]:
    """The places ordered by bearing from `centre` (their mean position without one), nearest first on ties."""
    if not places:
        return []
    if centre is None:
        centre = (sum(p.lat for p in places) / len(places), sum(p.lon for p in places) / len(places))
    scale = math.cos(math.radians(centre[0]))

    def key(place: Place) -> tuple[float, float, int]:
        dy, dx = place.lat - centre[0], (place.lon - centre[1]) * scale
        return (math.atan2(dy, dx) % (2 * math.pi), dx * dx + dy * dy, place.key)

    ordered = sorted(places, key=key)
    if len(ordered) > 2:
        # Start the sweep after the widest gap in bearing, so no day straddles two far-apart sectors.
        angles = [key(p)[0] for p in ordered]
        gaps = [(angles[(i + 1) % len(angles)] - angles[i]) % (2 * math.pi) for i in range(len(angles))]
        start = (max(range(len(gaps)), key=gaps.__getitem__) + 1) % len(ordered)
        ordered = ordered[start:] + ordered[:start]
    return ordered


def split_into_days(
    ordered: Sequence[int], rooms: Sequence[tuple[dt.date, int]], due: dict[int, dt.date] | None = None
) -> tuple[dict[int, dt.date], list[int]]:
    """Cut a sweep into consecutive runs, filling the earliest days first, each up to its room; a key is
    never placed before its due day. Returns the day of each key and the keys that did not fit."""
    due = due or {}
    days: dict[int, dt.date] = {}
    waiting = list(ordered)
    for day, room in sorted(rooms):
        taken = [key for key in waiting if due.get(key, day) <= day][:room]
        for key in taken:
            days[key] = day
        chosen = set(taken)
        waiting = [key for key in waiting if key not in chosen]
    return days, waiting


def day_windows(
    day: dt.date, shift_start: dt.time, shift_end: dt.time, zone: ZoneInfo, minutes: int = WINDOW_MINUTES
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The day's appointment windows inside the shift, back to back; the last one may be shorter (≥ 1 h)."""
    start = dt.datetime.combine(day, shift_start, tzinfo=zone)
    end = dt.datetime.combine(day, shift_end, tzinfo=zone)
    windows = []
    cursor = start
    while cursor < end:
        window_end = min(end, cursor + dt.timedelta(minutes=minutes))
        if window_end - cursor >= dt.timedelta(minutes=60):
            windows.append((cursor, window_end))
        cursor = window_end
    return windows


def spread_over_windows(count: int, windows: int) -> list[int]:
    """The window index of each of `count` visits in sweep order: consecutive visits share a window."""
    if windows <= 0:
        return []
    per_window = max(1, math.ceil(count / windows))
    return [min(windows - 1, index // per_window) for index in range(count)]
