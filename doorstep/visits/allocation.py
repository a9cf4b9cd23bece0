"""Who goes to whose door: crews formed from a team's collectors, and field cases allocated to crews.

Plain data in, plain data out, no Django: the services read the database into these records and write
the answer back. A case goes to a crew that is field-ready, works the borrower's territory and has room
in the planning horizon. The crew that visited the borrower before (or works the case now) keeps the
case when it can; a borrower who was hostile before, or a balance above the threshold, goes only to an
experienced crew; otherwise the least loaded crew of the team (relative to its capacity) takes it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class AllocationReason(StrEnum):
    CONTINUITY = "continuity"  # the crew of the borrower's previous visits, or the collector of the case
    EXPERIENCED_HOSTILE = "experienced_hostile"  # a previous visit met a hostile borrower
    EXPERIENCED_HIGH_BALANCE = "experienced_high_balance"  # the amount overdue is above the threshold
    BALANCE = "balance"  # the least loaded crew working the borrower's territory


class UnplacedReason(StrEnum):
    NO_CREW = "no_crew"  # the team has no field-ready crew
    NO_CREW_IN_TERRITORY = "no_crew_in_territory"  # no crew works the borrower's territory
    NO_EXPERIENCED_CREW = "no_experienced_crew"  # the case needs an experienced crew and none works there
    NO_CAPACITY = "no_capacity"  # the crews that could go are full for the horizon


@dataclass(frozen=True)
class CollectorInfo:
    collector_id: int
    team_id: int
    experienced: bool
    work_days: frozenset[int]
    shift_start: dt.time
    shift_end: dt.time
    visits_per_day: int
    # Territories the collector works; empty means every territory of the team.
    territory_ids: frozenset[int] = frozenset()
    home: tuple[float, float] | None = None


@dataclass(frozen=True)
class CrewInfo:
    """A crew as allocation sees it: its members, the days and hours they share, and room left."""

    key: str
    team_id: int
    lead_id: int
    partner_id: int | None
    experienced: bool
    work_days: frozenset[int]
    shift_start: dt.time
    shift_end: dt.time
    visits_per_day: int
    territory_ids: frozenset[int] | None  # None: every territory
    capacity: int  # visits the crew can still take in the horizon
    load: int = 0  # visits it already has in the horizon
    crew_id: int | None = None

    @property
    def member_ids(self) -> tuple[int, ...]:
        return (self.lead_id,) + ((self.partner_id,) if self.partner_id is not None else ())


@dataclass(frozen=True)
class CaseToAllocate:
    case_id: int
    team_id: int
    territory_ids: frozenset[int]  # the territories that contain the borrower's address
    overdue_fen: int
    hostile_before: bool = False
    previous_collector_ids: tuple[int, ...] = ()  # most recent first
    current_collector_id: int | None = None


@dataclass(frozen=True)
class Allocated:
    case_id: int
    crew_key: str
    reason: AllocationReason


@dataclass(frozen=True)
class Unplaced:
    case_id: int
    reason: UnplacedReason


@dataclass
class AllocationResult:
    allocated: list[Allocated] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)


# ---------------------------------------------------------------- crews


def _minutes(moment: dt.time) -> int:
    return moment.hour * 60 + moment.minute


def shared_time(a: CollectorInfo, b: CollectorInfo) -> tuple[frozenset[int], dt.time, dt.time] | None:
    """The days and hours two collectors both work, or None if they never work together."""
    days = a.work_days & b.work_days
    start, end = max(a.shift_start, b.shift_start), min(a.shift_end, b.shift_end)
    if not days or _minutes(end) - _minutes(start) < 120:
        return None
    return days, start, end


def _pair_score(a: CollectorInfo, b: CollectorInfo) -> float:
    shared = shared_time(a, b)
    if shared is None:
        return -math.inf
    days, start, end = shared
    score = len(days) * (_minutes(end) - _minutes(start))
    if a.territory_ids and b.territory_ids and not a.territory_ids & b.territory_ids:
        score -= 10_000
    if a.home and b.home:
        score -= _km(a.home, b.home)
    return score


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    phi1, phi2 = math.radians(a[0]), math.radians(b[0])
    dphi, dlambda = phi2 - phi1, math.radians(b[1] - a[1])
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def crews_pair(
    collectors: Sequence[CollectorInfo], *, min_team: int, keep: Iterable[tuple[int, int | None]] = ()
) -> tuple[list[tuple[int, int | None]], list[int]]:
    """Crews (lead, partner) for one team's field-ready collectors, and those left without a partner.

    Existing crews in `keep` stay as they are when both members are still here (the same faces at the
    same doors). Where the rule set asks for two, each experienced collector leads a crew with a newer
    colleague while there are both, so that experience is spread over as many crews as possible; a pair
    must share at least one work day and two hours of shift.
    """
    by_id = {c.collector_id: c for c in collectors}
    crews: list[tuple[int, int | None]] = []
    used: set[int] = set()
    for lead, partner in keep:
        members = [lead] + ([partner] if partner is not None else [])
        present = all(m in by_id and m not in used for m in members) and len(members) >= min(min_team, 2)
        if present and (partner is None or shared_time(by_id[lead], by_id[partner]) is not None):
            crews.append((lead, partner))
            used.update(members)
    free = sorted((c for c in collectors if c.collector_id not in used),
                  key=lambda c: (not c.experienced, c.collector_id))
    if min_team < 2:
        crews.extend((c.collector_id, None) for c in free)
        return crews, []
    experienced = [c for c in free if c.experienced]
    newer = [c for c in free if not c.experienced]
    alone: list[int] = []

    def pick(lead: CollectorInfo, pool: list[CollectorInfo]) -> CollectorInfo | None:
        scored = [(p, _pair_score(lead, p)) for p in pool]
        scored = [(p, s) for p, s in scored if s > -math.inf]
        if not scored:
            return None
        return max(scored, key=lambda item: (item[1], -item[0].collector_id))[0]

    for lead in list(experienced):
        if lead not in experienced:
            continue
        experienced.remove(lead)
        partner = pick(lead, newer) or pick(lead, experienced)
        if partner is None:
            alone.append(lead.collector_id)
            continue
        (newer if partner in newer else experienced).remove(partner)
        crews.append((lead.collector_id, partner.collector_id))
    while newer:
        lead = newer.pop(0)
        partner = pick(lead, newer)
        if partner is None:
            alone.append(lead.collector_id)
            continue
        newer.remove(partner)
        crews.append((lead.collector_id, partner.collector_id))
    return crews, alone


def crew_info(
    *,
    key: str,
    lead: CollectorInfo,
    partner: CollectorInfo | None,
    horizon: Sequence[dt.date],
    load: int = 0,
    crew_id: int | None = None,
) -> CrewInfo | None:
    """The crew's shared days and hours and its room over `horizon`; None if the pair never works together."""
    if partner is None:
        days, start, end = lead.work_days, lead.shift_start, lead.shift_end
        per_day = lead.visits_per_day
        territories = lead.territory_ids or None
    else:
        shared = shared_time(lead, partner)
        if shared is None:
            return None
        days, start, end = shared
        per_day = min(lead.visits_per_day, partner.visits_per_day)
        # A pair goes where its lead works; a lead without territories follows the partner's.
        territories = (lead.territory_ids | partner.territory_ids) or None
    working = sum(1 for day in horizon if day.isoweekday() in days)
    return CrewInfo(
        key=key,
        team_id=lead.team_id,
        lead_id=lead.collector_id,
        partner_id=partner.collector_id if partner else None,
        experienced=lead.experienced or bool(partner and partner.experienced),
        work_days=frozenset(days),
        shift_start=start,
        shift_end=end,
        visits_per_day=per_day,
        territory_ids=territories,
        capacity=max(0, per_day * working - load),
        load=load,
        crew_id=crew_id,
    )


# ---------------------------------------------------------------- cases


def allocate(
    cases: Sequence[CaseToAllocate], crews: Sequence[CrewInfo], *, high_balance_fen: int
) -> AllocationResult:
    """Give each case a crew of its team, or say why none could take it.

    Cases that need an experienced crew go first (they have the fewest crews to choose from), then the
    largest balances. Within what a case may have, continuity wins while the crew has room; otherwise the
    crew with the lowest share of its capacity used takes it, so loads stay balanced within the team.
    """
    result = AllocationResult()
    by_team: dict[int, list[CrewInfo]] = defaultdict(list)
    for crew in crews:
        by_team[crew.team_id].append(crew)
    taken: dict[str, int] = {crew.key: 0 for crew in crews}

    def needs_experience(case: CaseToAllocate) -> AllocationReason | None:
        if case.hostile_before:
            return AllocationReason.EXPERIENCED_HOSTILE
        if case.overdue_fen >= high_balance_fen:
            return AllocationReason.EXPERIENCED_HIGH_BALANCE
        return None

    ordered = sorted(cases, key=lambda c: (needs_experience(c) is None, -c.overdue_fen, c.case_id))
    for case in ordered:
        team_crews = by_team.get(case.team_id, [])
        if not team_crews:
            result.unplaced.append(Unplaced(case.case_id, UnplacedReason.NO_CREW))
            continue
        in_territory = [
            crew for crew in team_crews
            if crew.territory_ids is None or not case.territory_ids or crew.territory_ids & case.territory_ids
        ]
        if not in_territory:
            result.unplaced.append(Unplaced(case.case_id, UnplacedReason.NO_CREW_IN_TERRITORY))
            continue
        special = needs_experience(case)
        eligible = [crew for crew in in_territory if crew.experienced] if special else in_territory
        if not eligible:
            result.unplaced.append(Unplaced(case.case_id, UnplacedReason.NO_EXPERIENCED_CREW))
            continue
        with_room = [crew for crew in eligible if taken[crew.key] < crew.capacity]
        if not with_room:
            result.unplaced.append(Unplaced(case.case_id, UnplacedReason.NO_CAPACITY))
            continue
        known = [*case.previous_collector_ids] + (
            [case.current_collector_id] if case.current_collector_id is not None else []
        )
        chosen = None
        for collector_id in known:
            chosen = next((crew for crew in with_room if collector_id in crew.member_ids), None)
            if chosen is not None:
                break
        if chosen is not None:
            reason = AllocationReason.CONTINUITY
        else:
            chosen = min(
                with_room,
                key=lambda crew: ((crew.load + taken[crew.key]) / max(1, crew.load + crew.capacity), crew.key),
            )
            reason = special or AllocationReason.BALANCE
        taken[chosen.key] += 1
        result.allocated.append(Allocated(case.case_id, chosen.key, reason))
    result.allocated.sort(key=lambda item: item.case_id)
    return result
