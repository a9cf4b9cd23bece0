"""Allocation as plain data: crews from a team's collectors, and cases to crews with a reason each."""

from __future__ import annotations

import datetime as dt

import pytest

from doorstep.visits.allocation import (
    AllocationReason,
    CaseToAllocate,
    CollectorInfo,
    UnplacedReason,
    allocate,
    crew_info,
    crews_pair,
)

WEEK = [dt.date(2026, 12, 7) + dt.timedelta(days=n) for n in range(5)]  # Monday to Friday


def collector(number: int, *, experienced: bool = False, days: str = "12345", start: str = "09:00",
              end: str = "18:00", per_day: int = 8, territories: frozenset[int] = frozenset({1})) -> CollectorInfo:
    return CollectorInfo(
        collector_id=number, team_id=1, experienced=experienced, work_days=frozenset(int(d) for d in days),
        shift_start=dt.time.fromisoformat(start), shift_end=dt.time.fromisoformat(end), visits_per_day=per_day,
        territory_ids=territories,
    )


def case(number: int, *, overdue_yuan: int = 3_000, hostile: bool = False, previous: tuple[int, ...] = (),
         current: int | None = None, territories: frozenset[int] = frozenset({1})) -> CaseToAllocate:
    return CaseToAllocate(case_id=number, team_id=1, territory_ids=territories, overdue_fen=overdue_yuan * 100,
                          hostile_before=hostile, previous_collector_ids=previous, current_collector_id=current)


def crews_of(collectors: list[CollectorInfo], *, per_day: int | None = None, load: int = 0):
    pairs, _alone = crews_pair(collectors, min_team=2)
    by_id = {c.collector_id: c for c in collectors}
    return [
        crew_info(key=f"{lead}+{partner}", lead=by_id[lead], partner=by_id[partner] if partner else None,
                  horizon=WEEK, load=load)
        for lead, partner in pairs
    ]


def test_experienced_collectors_each_lead_a_pair_with_a_newer_colleague() -> None:
    team = [collector(1, experienced=True), collector(2, experienced=True), collector(3), collector(4)]
    pairs, alone = crews_pair(team, min_team=2)
    assert sorted(pairs) == [(1, 3), (2, 4)] or sorted(pairs) == [(1, 4), (2, 3)]
    assert alone == []


def test_collectors_who_never_work_the_same_days_are_not_paired() -> None:
    team = [collector(1, days="12"), collector(2, days="45"), collector(3, days="1")]
    pairs, alone = crews_pair(team, min_team=2)
    assert pairs == [(1, 3)]
    assert alone == [2]


def test_existing_crews_stay_together() -> None:
    team = [collector(1, experienced=True), collector(2), collector(3, experienced=True), collector(4)]
    pairs, _alone = crews_pair(team, min_team=2, keep=[(1, 4)])
    assert (1, 4) in pairs
    assert (3, 2) in pairs


def test_without_a_two_person_rule_everybody_goes_alone() -> None:
    pairs, alone = crews_pair([collector(1), collector(2)], min_team=1)
    assert pairs == [(1, None), (2, None)]
    assert alone == []


def test_a_crew_works_the_days_and_hours_both_members_work() -> None:
    lead = collector(1, days="12345", start="09:00", end="18:00", per_day=8)
    partner = collector(2, days="23456", start="10:00", end="19:00", per_day=7)
    info = crew_info(key="a", lead=lead, partner=partner, horizon=WEEK, load=3)
    assert info is not None
    assert info.work_days == frozenset({2, 3, 4, 5})
    assert (info.shift_start, info.shift_end) == (dt.time(10), dt.time(18))
    assert info.capacity == 7 * 4 - 3


def test_continuity_keeps_the_borrower_with_the_crew_that_visited_before() -> None:
    crews = crews_of([collector(1, experienced=True), collector(2), collector(3, experienced=True), collector(4)])
    result = allocate([case(10, previous=(4,))], crews, high_balance_fen=5_000_000)
    crew = next(c for c in crews if c.key == result.allocated[0].crew_key)
    assert 4 in crew.member_ids
    assert result.allocated[0].reason == AllocationReason.CONTINUITY


@pytest.mark.parametrize(
    ("hostile", "overdue_yuan", "reason"),
    [
        (True, 3_000, AllocationReason.EXPERIENCED_HOSTILE),
        (False, 80_000, AllocationReason.EXPERIENCED_HIGH_BALANCE),
    ],
)
def test_hostile_or_high_balance_cases_go_only_to_experienced_crews(hostile: bool, overdue_yuan: int,
                                                                    reason: AllocationReason) -> None:
    crews = crews_of([collector(1, experienced=True), collector(2), collector(3), collector(4)])
    assert sum(c.experienced for c in crews) == 1
    cases = [case(n, hostile=hostile, overdue_yuan=overdue_yuan) for n in range(3)]
    result = allocate(cases, crews, high_balance_fen=50_000 * 100)
    experienced = next(c.key for c in crews if c.experienced)
    assert {item.crew_key for item in result.allocated} == {experienced}
    assert {item.reason for item in result.allocated} == {reason}


def test_no_experienced_crew_means_the_case_waits_with_a_reason() -> None:
    crews = crews_of([collector(1), collector(2)])
    result = allocate([case(1, hostile=True)], crews, high_balance_fen=10**9)
    assert result.allocated == []
    assert result.unplaced[0].reason == UnplacedReason.NO_EXPERIENCED_CREW


def test_loads_stay_balanced_within_the_team() -> None:
    crews = crews_of([collector(n) for n in range(1, 7)])
    result = allocate([case(n) for n in range(60)], crews, high_balance_fen=10**9)
    counts = [sum(1 for item in result.allocated if item.crew_key == crew.key) for crew in crews]
    assert sum(counts) == 60
    assert max(counts) - min(counts) <= 1


def test_a_full_crew_takes_no_more_even_for_continuity() -> None:
    small = [collector(1, per_day=1), collector(2, per_day=1), collector(3, per_day=1), collector(4, per_day=1)]
    crews = crews_of(small)  # two crews, five visits each this week
    cases = [case(n, previous=(1,)) for n in range(12)]
    result = allocate(cases, crews, high_balance_fen=10**9)
    assert len(result.allocated) == 10
    assert [u.reason for u in result.unplaced] == [UnplacedReason.NO_CAPACITY] * 2
    with_one = next(c.key for c in crews if 1 in c.member_ids)
    assert sum(1 for item in result.allocated if item.crew_key == with_one) == 5


def test_a_crew_goes_only_to_its_territory() -> None:
    crews = crews_of([collector(1, territories=frozenset({1})), collector(2, territories=frozenset({1}))])
    result = allocate([case(1, territories=frozenset({2})), case(2)], crews, high_balance_fen=10**9)
    assert [item.case_id for item in result.allocated] == [2]
    assert result.unplaced[0].reason == UnplacedReason.NO_CREW_IN_TERRITORY


def test_a_team_of_forty_and_three_thousand_cases_allocates_every_case_it_can() -> None:
    team = [collector(n, experienced=n % 2 == 0, per_day=8 + n % 3) for n in range(1, 41)]
    crews = crews_of(team)
    assert len(crews) == 20
    cases = [case(n, overdue_yuan=1_000 + (n * 37) % 90_000, hostile=n % 50 == 0) for n in range(3_000)]
    result = allocate(cases, crews, high_balance_fen=50_000 * 100)
    capacity = sum(c.capacity for c in crews)
    assert len(result.allocated) == min(3_000, capacity)
    assert len(result.allocated) + len(result.unplaced) == 3_000
