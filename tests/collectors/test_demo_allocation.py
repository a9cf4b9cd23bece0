"""The demo allocation: nearest collector within the territory, loads kept balanced."""

from __future__ import annotations

from collections import Counter

from doorstep.collectors.demo_allocation import (
    Area,
    CaseSite,
    CollectorBase,
    allocate_nearest_with_capacity,
    distance_km,
)

WEST = CollectorBase(1, team_id=10, home_latitude=30.65, home_longitude=104.00)
EAST = CollectorBase(2, team_id=10, home_latitude=30.65, home_longitude=104.10)


def test_distance_matches_a_known_one() -> None:
    import numpy as np

    # One degree of longitude at latitude 30.65 is about 95.8 km.
    assert abs(distance_km(np.array([30.65]), np.array([104.0]), 30.65, 105.0)[0] - 95.8) < 0.3


def test_each_case_goes_to_the_nearer_collector_while_there_is_room() -> None:
    cases = [CaseSite(100, 10, 30.65, 104.01), CaseSite(101, 10, 30.65, 104.09)]
    assert allocate_nearest_with_capacity(cases, [WEST, EAST]) == {100: 1, 101: 2}


def test_a_full_collector_passes_cases_on_so_loads_stay_balanced() -> None:
    near_west = [CaseSite(100 + n, 10, 30.65, 104.0 + n / 1000) for n in range(20)]
    loads = Counter(allocate_nearest_with_capacity(near_west, [WEST, EAST]).values())
    assert loads[1] == 11 and loads[2] == 9  # fair share is 10, plus a tenth of slack


def test_existing_cases_count_toward_the_load() -> None:
    busy_west = CollectorBase(1, 10, 30.65, 104.00, current_load=30)
    cases = [CaseSite(100 + n, 10, 30.65, 104.0) for n in range(10)]
    assert set(allocate_nearest_with_capacity(cases, [busy_west, EAST]).values()) == {2}


def test_territory_comes_before_distance() -> None:
    # The west collector lives nearer, but only the east collector's territory holds the address.
    west = CollectorBase(1, 10, 30.65, 104.00, areas=(Area(30.65, 104.00, 2.0),))
    east = CollectorBase(2, 10, 30.65, 104.10, areas=(Area(30.65, 104.06, 3.0),))
    assert allocate_nearest_with_capacity([CaseSite(100, 10, 30.65, 104.045)], [west, east]) == {100: 2}


def test_cases_without_coordinates_go_to_the_least_loaded_and_teams_stay_apart() -> None:
    other_team = CollectorBase(3, team_id=20, home_latitude=30.65, home_longitude=104.01)
    cases = [CaseSite(100, 10, 30.65, 104.01), CaseSite(101, 10, None, None), CaseSite(102, 30, 30.6, 104.0)]
    result = allocate_nearest_with_capacity(cases, [WEST, EAST, other_team])
    assert result == {100: 1, 101: 2, 102: None}
