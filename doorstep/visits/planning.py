"""Day plans: each crew's route through its visits of the day, solved by the routing core and stored as a
published version of the team's plan. Re-planning after a cancellation, a move or a reassignment
publishes a new version and supersedes the old one; crews whose visits did not change keep their route.

Each crew is planned on its own: the borrower was told which collectors will come, so the planner orders
a crew's visits and leaves out what does not fit, but never hands a visit to another crew.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from doorstep.collectors.models import Collector, Team
from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.core.money import to_fen
from doorstep.routing.matrix import OsrmClient, TravelMatrix, TravelProfile, haversine_matrix
from doorstep.routing.problem import (
    MAX_STRATEGY_PRIORITY,
    Depot,
    Point,
    Problem,
    Stop,
    TimeWindow,
    Vehicle,
    visit_prize,
)
from doorstep.routing.replan import replan
from doorstep.routing.solve import LeftOut, LeftOutReason, Plan, PlannedRoute, PlannedStop, solve, solver_name
from doorstep.visits import selectors
from doorstep.visits.models import (
    BorrowerResponse,
    Crew,
    DayPlan,
    PlanRoute,
    PlanStatus,
    PlanStop,
    Visit,
    VisitStatus,
)

SEARCH_SECONDS = 1.0
NO_IMPROVEMENT = 300


def _solve(problem: Problem, seconds: float, warm_start: list[tuple[str, list[str]]] | None = None) -> Plan:
    """A team's day planned with the deployment's number of searches side by side."""
    return solve(problem, seconds=seconds, no_improvement=NO_IMPROVEMENT, workers=settings.DOORSTEP_ROUTING_SEARCHES,
                 warm_start=warm_start)
DETOUR = 1.4
NO_LOCATION = "no_location"
NO_CREW = "no_crew"
PLANNED_STATUSES = (VisitStatus.SCHEDULED, VisitStatus.CHECKED_IN, VisitStatus.COMPLETED)


@dataclass
class CrewDay:
    crew: Crew
    vehicle: Vehicle
    problem: Problem | None
    visits: list[Visit]
    unlocated: list[Visit]


def _point(latitude: Decimal | None, longitude: Decimal | None) -> Point | None:
    if latitude is None or longitude is None:
        return None
    return Point(float(latitude), float(longitude))


def _matrix(points: Sequence[Point], speed_kmh: float) -> TravelMatrix:
    url = getattr(settings, "DOORSTEP_OSRM_URL", "")
    if url:
        return OsrmClient(str(url)).matrix(points)
    return haversine_matrix(points, TravelProfile("default", speed_kmh, DETOUR))


def _team_speed(team: Team) -> float:
    speeds = [float(t.speed_kmh) for t in team.territories.all()]
    return min(speeds) if speeds else 25.0


def _crew_for(lead_id: int, partner_id: int | None, team: Team) -> Crew:
    crew = Crew.objects.filter(lead_id=lead_id, partner_id=partner_id).order_by("-is_active", "-pk").first()
    if crew is None:
        crew = Crew.objects.create(team=team, lead_id=lead_id, partner_id=partner_id,
                                   is_active=not Crew.objects.filter(lead_id=lead_id, is_active=True).exists())
    return crew


def _base(collector: Collector, team: Team, visits: list[Visit]) -> Point:
    """Where a crew starts and ends: the lead's home, else the territory centre, else its first visit."""
    home = _point(collector.home_latitude, collector.home_longitude)
    if home is not None:
        return home
    territory = team.territories.first()
    if territory is not None:
        return Point(float(territory.centre_latitude), float(territory.centre_longitude))
    for visit in visits:
        place = _point(visit.latitude, visit.longitude)
        if place is not None:
            return place
    return Point(30.657, 104.066)


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=selectors.local_zone())


def _seconds(start: dt.datetime, moment: dt.datetime) -> int:
    return int((moment - start).total_seconds())


def crew_day(crew: Crew, team: Team, day: dt.date, visits: list[Visit], speed_kmh: float) -> CrewDay:
    """The routing problem of one crew's day: its visits with their windows, from and back to its base."""
    start = day_start(day)
    shared = selectors.crew_time(crew.members)
    if shared is None:
        shift = TimeWindow(9 * 3600, 18 * 3600)
    else:
        shift = TimeWindow(shared.shift_start.hour * 3600 + shared.shift_start.minute * 60,
                           shared.shift_end.hour * 3600 + shared.shift_end.minute * 60)
    base = _base(crew.lead, team, visits)
    located = [v for v in visits if _point(v.latitude, v.longitude) is not None]
    unlocated = [v for v in visits if _point(v.latitude, v.longitude) is None]
    vehicle = Vehicle(id=f"crew-{crew.pk}", start=Depot("base", base), end=Depot("base", base), shift=shift,
                      members=tuple(str(m.pk) for m in crew.members))
    if not located:
        return CrewDay(crew, vehicle, None, visits, unlocated)
    stops = []
    for visit in located:
        service = visit.service_minutes * 60
        priority = min(MAX_STRATEGY_PRIORITY, max(0, visit.strategy_priority or 0))
        required = visit.response == BorrowerResponse.CONFIRMED or visit.status != VisitStatus.SCHEDULED
        stops.append(Stop(
            id=str(visit.pk),
            location=_point(visit.latitude, visit.longitude),
            service=service,
            # The whole visit inside its appointment window: it starts no later than the window's end less the
            # time at the door (a window shorter than the visit leaves it out as having no allowed window).
            allowed_windows=(TimeWindow.from_datetimes(start, visit.window_start, visit.window_end),),
            required=required,
            prize=0 if required else visit_prize(overdue_fen=to_fen(visit.case.overdue_total), strategy_priority=priority),
        ))
    points = list(dict.fromkeys([base, *(stop.location for stop in stops)]))
    matrix = _matrix(points, speed_kmh)
    problem = Problem(vehicles=(vehicle,), stops=tuple(stops), matrices={"default": matrix}, day_start=start)
    return CrewDay(crew, vehicle, problem, visits, unlocated)


def _team_crew_days(team: Team, day: dt.date, statuses: Sequence[str] = PLANNED_STATUSES) -> list[CrewDay]:
    visits = list(selectors.team_day_visits(team=team, day=day).filter(status__in=statuses).select_related(
        "collector__user", "partner__user"))
    groups: dict[tuple[int, int | None], list[Visit]] = defaultdict(list)
    for visit in visits:
        groups[(visit.collector_id, visit.partner_id)].append(visit)
    speed = _team_speed(team)
    days = []
    for (lead_id, partner_id), crew_visits in sorted(groups.items(), key=lambda item: item[0][0]):
        crew = _crew_for(lead_id, partner_id, team)
        days.append(crew_day(crew, team, day, crew_visits, speed))
    return days


def _store(
    *, actor: Actor, team: Team, day: dt.date, results: list[tuple[CrewDay, Plan | None]], reason: str,
    publish: bool, runtime: float,
) -> DayPlan:
    fields = actor_fields(actor)
    start = day_start(day)
    from doorstep.compliance.services import default_jurisdiction, ruleset_active

    ruleset = ruleset_active(default_jurisdiction()).label
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)
        version = (DayPlan.objects.filter(team=team, day=day).aggregate(top=Max("version"))["top"] or 0) + 1
        if publish:
            DayPlan.objects.filter(team=team, day=day, status=PlanStatus.PUBLISHED).update(status=PlanStatus.SUPERSEDED)
        left_out: list[dict[str, object]] = []
        planned = distance = travel = 0
        total = 0
        plan_row = DayPlan.objects.create(
            team=team, day=day, version=version, status=PlanStatus.PUBLISHED if publish else PlanStatus.DRAFT,
            solver=solver_name(), ruleset_version=ruleset, reason=reason[:300], created_by_label=fields["actor_label"],
        )
        stop_rows: list[PlanStop] = []
        for crew_day_, plan in results:
            total += len(crew_day_.visits)
            for visit in crew_day_.unlocated:
                left_out.append({"visit": visit.pk, "crew": crew_day_.crew.pk, "reason": NO_LOCATION, "required": False})
            if plan is None:
                continue
            for item in plan.left_out:
                left_out.append({"visit": int(item.stop_id), "crew": crew_day_.crew.pk, "reason": str(item.reason),
                                 "required": item.required})
            base = crew_day_.vehicle.start.location
            for route in plan.routes:
                route_row = PlanRoute.objects.create(
                    plan=plan_row, crew=crew_day_.crew, start_latitude=Decimal(f"{base.lat:.6f}"),
                    start_longitude=Decimal(f"{base.lon:.6f}"), departs_at=start + dt.timedelta(seconds=route.depart),
                    returns_at=start + dt.timedelta(seconds=route.arrive), distance_m=route.distance,
                    travel_seconds=route.travel,
                )
                previous = route.depart
                for sequence, stop in enumerate(route.stops, start=1):
                    stop_rows.append(PlanStop(
                        route=route_row, visit_id=int(stop.stop_id), sequence=sequence,
                        eta=start + dt.timedelta(seconds=stop.arrival),
                        starts_at=start + dt.timedelta(seconds=stop.start),
                        departs_at=start + dt.timedelta(seconds=stop.end),
                        travel_seconds=max(0, stop.arrival - previous),
                    ))
                    previous = stop.end
                planned += len(route.stops)
                distance += route.distance
                travel += route.travel
        PlanStop.objects.bulk_create(stop_rows)
        plan_row.left_out = left_out
        plan_row.summary = {
            "visits": total, "planned": planned, "left_out": len(left_out), "crews": len(results),
            "distance_m": distance, "travel_s": travel, "runtime_s": round(runtime, 3),
        }
        plan_row.save(update_fields=["left_out", "summary"])
        audit_record(actor=actor, action="visits.dayplan.published" if publish else "visits.dayplan.drafted",
                     target=plan_row, data={"team": team.pk, "day": day.isoformat(), "version": version,
                                            "reason": reason[:300], **plan_row.summary})
    return plan_row


def day_plan_build(
    *, actor: Actor, team: Team, day: dt.date, publish: bool = True, reason: str = "", seconds: float = SEARCH_SECONDS
) -> DayPlan:
    """Plan every crew's day for `team` and store it as a new version (published unless told otherwise)."""
    from doorstep.visits.services import _require_planner

    _require_planner(actor, {team.pk})
    started = timezone.now()
    results: list[tuple[CrewDay, Plan | None]] = []
    for item in _team_crew_days(team, day):
        plan = _solve(item.problem, seconds) if item.problem else None
        results.append((item, plan))
    runtime = (timezone.now() - started).total_seconds()
    return _store(actor=actor, team=team, day=day, results=results, reason=reason, publish=publish,
                  runtime=runtime)


def _stored_plan(route: PlanRoute | None, item: CrewDay, day: dt.date, left_out: list[dict[str, object]]) -> Plan:
    """A stored crew route as the routing core's plan, to re-plan from."""
    start = day_start(day)
    routes: tuple[PlannedRoute, ...] = ()
    if route is not None:
        stops = tuple(
            PlannedStop(str(stop.visit_id), _seconds(start, stop.eta), _seconds(start, stop.starts_at),
                        _seconds(start, stop.departs_at))
            for stop in route.stops.order_by("sequence")
        )
        routes = (PlannedRoute(item.vehicle.id, 0, _seconds(start, route.departs_at), stops,
                               _seconds(start, route.returns_at), route.distance_m, route.travel_seconds),)
    dropped = tuple(
        LeftOut(str(entry["visit"]), LeftOutReason(str(entry["reason"])), bool(entry.get("required")))
        for entry in left_out
        if entry.get("crew") == item.crew.pk and entry.get("reason") in LeftOutReason.__members__.values()
    )
    return Plan(routes=routes, left_out=dropped, distance=sum(r.distance for r in routes),
                travel=sum(r.travel for r in routes), solver=solver_name(), seed=0, runtime_seconds=0.0)


def day_plan_replan(
    *, actor: Actor, team_id: int, day: dt.date, reason: str, seconds: float = SEARCH_SECONDS
) -> DayPlan | None:
    """A new version of the team's published plan for `day` after visits were cancelled, moved or reassigned.

    Crews whose visits are unchanged keep their route. A crew that only lost visits is re-planned from its
    route (visits already started stay as they were); a crew that gained visits is planned again, starting
    from its previous order. Nothing happens if the day has no published plan.
    """
    team = Team.objects.get(pk=team_id)
    current = selectors.published_plan(team=team, day=day)
    if current is None:
        return None
    started = timezone.now()
    old_routes = {route.crew_id: route for route in current.routes.select_related("crew")}
    old_ids: dict[int, set[int]] = defaultdict(set)
    for crew_id, visit_id in PlanStop.objects.filter(route__plan=current).values_list("route__crew_id", "visit_id"):
        old_ids[crew_id].add(visit_id)
    for entry in current.left_out:
        if entry.get("crew") is not None:
            old_ids[int(entry["crew"])].add(int(entry["visit"]))
    now_units = _seconds(day_start(day), timezone.now()) if timezone.localdate(timezone.now(),
                                                                                 selectors.local_zone()) == day else None
    results: list[tuple[CrewDay, Plan | None]] = []
    for item in _team_crew_days(team, day):
        ids = {visit.pk for visit in item.visits}
        before = old_ids.get(item.crew.pk, set())
        if item.problem is None:
            results.append((item, None))
            continue
        old_route = old_routes.get(item.crew.pk)
        previous = _stored_plan(old_route, item, day, current.left_out)
        if ids == before:
            results.append((item, previous))
            continue
        removed = before - ids
        added = ids - before
        if not added and removed:
            # Re-plan from the stored route: the problem as it was, minus the visits that went.
            was = _team_crew_days_with(team, day, item.crew, before)
            if was is not None and was.problem is not None:
                cancelled = [str(v) for v in removed if str(v) in was.problem.stops_by_id]
                try:
                    plan = replan(was.problem, previous, cancelled=cancelled, now=now_units, seconds=seconds,
                                  no_improvement=NO_IMPROVEMENT, workers=settings.DOORSTEP_ROUTING_SEARCHES).plan
                except ValueError:
                    plan = _solve(item.problem, seconds)
                results.append((item, plan))
                continue
        warm = [(item.vehicle.id, [s for s in (previous.routes[0].stop_ids if previous.routes else ())
                                   if s in item.problem.stops_by_id])]
        results.append((item, _solve(item.problem, seconds, warm_start=warm)))
    runtime = (timezone.now() - started).total_seconds()
    return _store(actor=actor, team=team, day=day, results=results, reason=reason, publish=True, runtime=runtime)


def _team_crew_days_with(team: Team, day: dt.date, crew: Crew, visit_ids: set[int]) -> CrewDay | None:
    visits = list(Visit.objects.filter(pk__in=visit_ids).select_related("case", "collector__user", "partner__user"))
    if not visits:
        return None
    return crew_day(crew, team, day, visits, _team_speed(team))


def day_plans_build(*, actor: Actor, day: dt.date, team_ids: list[int] | None = None, reason: str = "") -> list[DayPlan]:
    """Publish the day's plan for every team (of `team_ids`) with visits that day."""
    teams = Team.objects.filter(pk__in=team_ids) if team_ids is not None else Team.objects.all()
    start = day_start(day)
    with_visits = set(
        Visit.objects.filter(window_start__gte=start, window_start__lt=start + dt.timedelta(days=1),
                             status__in=PLANNED_STATUSES).values_list("collector__team_id", flat=True)
    )
    return [day_plan_build(actor=actor, team=team, day=day, reason=reason)
            for team in teams.order_by("pk") if team.pk in with_visits]
