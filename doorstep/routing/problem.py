"""The routing problem as plain data: places, vehicles (a collector or a pair), stops and their windows.

All times are whole units counted from the plan's day start: seconds for a field day, or whatever
integer scale a benchmark chooses. Aware datetimes are converted at the edge with
``TimeWindow.from_datetimes`` and ``Problem.at``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from doorstep.routing.matrix import TravelMatrix

# A prize counts in the same units as the travel cost (metres by default). The base is worth more than
# the detour any single visit adds in a city, so a visit that fits is not dropped merely for being far
# away; when time runs out the lower priorities go first. The figures stay within the range PyVRP's
# penalties for lateness and overload work in, so the search keeps preferring plans that keep time.
PRIZE_BASE = 30_000
PRIZE_PER_PRIORITY_LEVEL = 15_000
PRIZE_PER_TEN_YUAN_OVERDUE = 1
PRIZE_OVERDUE_CAP = 15_000
MAX_STRATEGY_PRIORITY = 9


class ProblemError(ValueError):
    """The problem is malformed (a clear message says which item and why); nothing was solved."""


@dataclass(frozen=True, slots=True)
class Point:
    """A geographic position in WGS-84 degrees."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat <= 90.0 or not -180.0 <= self.lon <= 180.0:
            raise ProblemError(f"not a position on Earth: lat={self.lat}, lon={self.lon}")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A closed interval [start, end] of units since the day start."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not isinstance(self.start, int) or not isinstance(self.end, int):
            raise ProblemError(f"window bounds must be whole units: {self.start!r}, {self.end!r}")
        if self.start > self.end:
            raise ProblemError(f"window ends before it starts: {self.start} > {self.end}")

    @classmethod
    def from_datetimes(cls, day_start: datetime, start: datetime, end: datetime) -> TimeWindow:
        """Whole seconds from ``day_start``; the start rounds up and the end down, so the window only shrinks."""
        for moment in (day_start, start, end):
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ProblemError(f"a time must be timezone-aware: {moment.isoformat()}")
        start_offset = start - day_start
        end_offset = end - day_start
        start_seconds = -(-(start_offset // timedelta(microseconds=1)) // 1_000_000)
        end_seconds = (end_offset // timedelta(microseconds=1)) // 1_000_000
        return cls(start_seconds, end_seconds)

    def contains(self, moment: int) -> bool:
        return self.start <= moment <= self.end

    def covers(self, start: int, end: int) -> bool:
        return self.start <= start and end <= self.end


@dataclass(frozen=True, slots=True)
class Depot:
    """Where a route starts or ends: a collector's home or a branch."""

    id: str
    location: Hashable


@dataclass(frozen=True, slots=True)
class Vehicle:
    """One collector or one pair going out together, with a fixed travel profile.

    ``count`` > 1 describes identical vehicles (benchmarks); a field day has one per collector or pair.
    ``capacity`` limits the sum of the stops' ``demand`` (one per visit by default); ``None`` means no limit.
    """

    id: str
    start: Depot
    end: Depot
    shift: TimeWindow
    capacity: int | None = None
    profile: str = "default"
    count: int = 1
    members: tuple[str, ...] = ()
    distance_cost: int = 1
    duration_cost: int = 0


@dataclass(frozen=True, slots=True)
class Stop:
    """A visit to plan.

    ``windows`` are the appointment windows in which the visit may *start* (empty: any time in the shift).
    ``allowed_windows``, when given, are the windows the compliance gate allows; the whole visit, from
    start to start + ``service``, must lie inside one of them.
    """

    id: str
    location: Hashable
    service: int
    windows: tuple[TimeWindow, ...] = ()
    allowed_windows: tuple[TimeWindow, ...] | None = None
    required: bool = False
    prize: int = 0
    demand: int = 1

    def start_windows(self) -> tuple[TimeWindow, ...]:
        """The windows in which the visit may start so that every constraint on it holds, earliest first."""
        appointment = self.windows or (TimeWindow(-(2**62), 2**62),)
        if self.allowed_windows is None:
            return tuple(sorted(set(appointment), key=lambda w: (w.start, w.end)))
        result: set[TimeWindow] = set()
        for wanted in appointment:
            for allowed in self.allowed_windows:
                start = max(wanted.start, allowed.start)
                end = min(wanted.end, allowed.end - self.service)
                if start <= end:
                    result.add(TimeWindow(start, end))
        return tuple(sorted(result, key=lambda w: (w.start, w.end)))


@dataclass(frozen=True, slots=True)
class Problem:
    """One day to plan: vehicles, stops and a travel matrix per profile."""

    vehicles: tuple[Vehicle, ...]
    stops: tuple[Stop, ...]
    matrices: Mapping[str, TravelMatrix]
    day_start: datetime | None = None
    stops_by_id: dict[str, Stop] = field(init=False, repr=False, compare=False)
    vehicles_by_id: dict[str, Vehicle] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vehicles", tuple(self.vehicles))
        object.__setattr__(self, "stops", tuple(self.stops))
        object.__setattr__(self, "stops_by_id", _unique(self.stops, "stop"))
        object.__setattr__(self, "vehicles_by_id", _unique(self.vehicles, "vehicle"))
        if self.day_start is not None and self.day_start.utcoffset() is None:
            raise ProblemError("the day start must be timezone-aware")
        validate(self)

    def at(self, units: int) -> datetime:
        """The aware moment of a time in seconds since the day start."""
        if self.day_start is None:
            raise ProblemError("this problem has no day start, so its times are not datetimes")
        return self.day_start + timedelta(seconds=units)

    def matrix_for(self, vehicle: Vehicle) -> TravelMatrix:
        return self.matrices[vehicle.profile]

    def replace(
        self,
        *,
        stops: Sequence[Stop] | None = None,
        vehicles: Sequence[Vehicle] | None = None,
    ) -> Problem:
        return Problem(
            vehicles=tuple(self.vehicles if vehicles is None else vehicles),
            stops=tuple(self.stops if stops is None else stops),
            matrices=self.matrices,
            day_start=self.day_start,
        )


def _unique[T: (Stop, Vehicle)](items: Sequence[T], kind: str) -> dict[str, T]:
    by_id: dict[str, T] = {}
    for item in items:
        if item.id in by_id:
            raise ProblemError(f"two {kind}s share the id {item.id!r}")
        by_id[item.id] = item
    return by_id


def validate(problem: Problem) -> None:
    """Refuse a problem that cannot be planned as stated, naming the first offending item."""
    if not problem.vehicles:
        raise ProblemError("there is no vehicle (collector or pair) to plan for")
    for vehicle in problem.vehicles:
        if vehicle.profile not in problem.matrices:
            raise ProblemError(f"vehicle {vehicle.id!r}: no travel matrix for profile {vehicle.profile!r}")
        matrix = problem.matrices[vehicle.profile]
        for depot in (vehicle.start, vehicle.end):
            if not matrix.has(depot.location):
                raise ProblemError(f"vehicle {vehicle.id!r}: place {depot.id!r} is not in the travel matrix")
        if vehicle.shift.start < 0:
            raise ProblemError(f"vehicle {vehicle.id!r}: the shift cannot start before the day starts")
        if vehicle.count < 1:
            raise ProblemError(f"vehicle {vehicle.id!r}: count must be at least 1")
        if vehicle.capacity is not None and vehicle.capacity < 0:
            raise ProblemError(f"vehicle {vehicle.id!r}: capacity cannot be negative")
        if vehicle.distance_cost < 0 or vehicle.duration_cost < 0:
            raise ProblemError(f"vehicle {vehicle.id!r}: costs cannot be negative")
    for stop in problem.stops:
        if stop.service < 0:
            raise ProblemError(f"stop {stop.id!r}: service time cannot be negative")
        if stop.demand < 0:
            raise ProblemError(f"stop {stop.id!r}: demand cannot be negative")
        if stop.prize < 0:
            raise ProblemError(f"stop {stop.id!r}: prize cannot be negative")
        for vehicle in problem.vehicles:
            if not problem.matrices[vehicle.profile].has(stop.location):
                raise ProblemError(f"stop {stop.id!r}: its place is not in the {vehicle.profile!r} travel matrix")


def visit_prize(*, overdue_fen: int, strategy_priority: int) -> int:
    """The prize of an optional visit, from the strategy priority (0-9) and the amount overdue.

    One priority level is worth as much as 150,000 yuan overdue, the most the amount can add.
    """
    if overdue_fen < 0:
        raise ProblemError(f"the amount overdue cannot be negative: {overdue_fen}")
    if not 0 <= strategy_priority <= MAX_STRATEGY_PRIORITY:
        raise ProblemError(f"strategy priority must be between 0 and {MAX_STRATEGY_PRIORITY}: {strategy_priority}")
    overdue = min(overdue_fen // 1000 * PRIZE_PER_TEN_YUAN_OVERDUE, PRIZE_OVERDUE_CAP)
    return PRIZE_BASE + PRIZE_PER_PRIORITY_LEVEL * strategy_priority + overdue
