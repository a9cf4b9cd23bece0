"""A simple, honest allocation of field cases for the demo: plain data in, plain data out, no Django.

Within each team, a case goes to the nearest collector (by home) among those whose territory holds
the borrower's address, unless that collector is full; then to the next nearest, and failing all of
them to the least loaded collector of the team. "Full" is the team's fair share plus a tenth, so the
loads stay balanced. Cases without coordinates go to the least loaded collector. This is not the
allocation engine (no continuity, skills or workload weighting): it only makes the demo believable.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_KM = 6371.0088
SLACK = 1.10


@dataclass(frozen=True)
class CaseSite:
    case_id: int
    team_id: int
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class Area:
    latitude: float
    longitude: float
    radius_km: float


@dataclass(frozen=True)
class CollectorBase:
    collector_id: int
    team_id: int
    home_latitude: float
    home_longitude: float
    areas: tuple[Area, ...] = ()
    current_load: int = 0


def distance_km(latitude: np.ndarray, longitude: np.ndarray, to_latitude: float, to_longitude: float) -> np.ndarray:
    """Great-circle distance from each point to one point (haversine)."""
    phi1, phi2 = np.radians(latitude), math.radians(to_latitude)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = np.radians(to_longitude - longitude) / 2
    a = np.sin(half_dphi) ** 2 + np.cos(phi1) * math.cos(phi2) * np.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def _allocate_team(cases: list[CaseSite], collectors: list[CollectorBase]) -> dict[int, int]:
    load = np.array([c.current_load for c in collectors], dtype=np.int64)
    capacity = math.ceil((int(load.sum()) + len(cases)) / len(collectors) * SLACK)
    chosen: dict[int, int] = {}
    placed = [case for case in cases if case.latitude is not None and case.longitude is not None]
    unplaced = [case for case in cases if case.latitude is None or case.longitude is None]
    if placed:
        latitude = np.array([case.latitude for case in placed], dtype=np.float64)
        longitude = np.array([case.longitude for case in placed], dtype=np.float64)
        to_home = np.column_stack(
            [distance_km(latitude, longitude, c.home_latitude, c.home_longitude) for c in collectors]
        )
        covers = np.column_stack(
            [
                np.logical_or.reduce(
                    [distance_km(latitude, longitude, a.latitude, a.longitude) <= a.radius_km for a in c.areas]
                )
                if c.areas
                else np.ones(len(placed), dtype=bool)
                for c in collectors
            ]
        )
        # Collectors whose territory covers the address come first, nearest home first within each group.
        ranking = np.argsort(np.where(covers, to_home, to_home + 1e6), axis=1, kind="stable")
        # Cases whose nearest collector is closest are placed first: they have the most to lose.
        order = np.argsort(to_home.min(axis=1), kind="stable")
        for row in order:
            pick = next((int(k) for k in ranking[row] if load[k] < capacity), int(np.argmin(load)))
            load[pick] += 1
            chosen[placed[row].case_id] = collectors[pick].collector_id
    for case in unplaced:
        pick = int(np.argmin(load))
        load[pick] += 1
        chosen[case.case_id] = collectors[pick].collector_id
    return chosen


def allocate_nearest_with_capacity(cases: list[CaseSite], collectors: list[CollectorBase]) -> dict[int, int | None]:
    """Collector id for each case id; None where the case's team has no collector (it stays with the team)."""
    by_team: dict[int, list[CollectorBase]] = defaultdict(list)
    for collector in sorted(collectors, key=lambda c: c.collector_id):
        by_team[collector.team_id].append(collector)
    cases_by_team: dict[int, list[CaseSite]] = defaultdict(list)
    for case in sorted(cases, key=lambda c: c.case_id):
        cases_by_team[case.team_id].append(case)
    result: dict[int, int | None] = {}
    for team_id, team_cases in cases_by_team.items():
        if not by_team.get(team_id):
            result.update(dict.fromkeys((case.case_id for case in team_cases), None))
            continue
        result.update(_allocate_team(team_cases, by_team[team_id]))
    return result
