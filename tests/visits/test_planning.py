"""Day plans: each crew's route through its visits, re-planned when a visit is cancelled; and the planner
never sends a crew to a door at a time the compliance gate would refuse."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from doorstep.collectors.models import Collector
from doorstep.compliance import services as compliance_services
from doorstep.compliance.services import ContactAction, borrower_facts_update, check, ruleset_active
from doorstep.visits import planning, services
from doorstep.visits.models import DayPlan, PlanStatus, PlanStop, Visit, VisitStatus
from tests.visits.conftest import MONDAY, SHANGHAI, FieldTeam


def plan_monday(field: FieldTeam, committed) -> DayPlan:  # type: ignore[no-untyped-def]
    supervisor, team = field.cast.supervisor, field.cast.team
    committed(services.visits_allocate, actor=supervisor, day=MONDAY, team_ids=[team.pk])
    committed(services.visits_schedule, actor=supervisor, day=MONDAY, team_ids=[team.pk])
    return planning.day_plan_build(actor=supervisor, team=team, day=MONDAY)


def test_the_day_plan_routes_the_crew_through_every_visit_in_its_window(field: FieldTeam, committed) -> None:
    plan = plan_monday(field, committed)
    assert plan.status == PlanStatus.PUBLISHED and plan.version == 1 and plan.solver.startswith("pyvrp")
    route = plan.routes.get()
    assert route.crew.members == [field.cast.collector, field.cast.other_collector]
    stops = list(route.stops.select_related("visit").order_by("sequence"))
    assert {s.visit_id for s in stops} == set(Visit.objects.values_list("pk", flat=True))
    assert plan.summary["planned"] == 6 and plan.left_out == []
    for stop in stops:
        visit = stop.visit
        assert visit.window_start <= stop.starts_at
        assert stop.departs_at == stop.starts_at + dt.timedelta(minutes=visit.service_minutes)
        assert stop.departs_at <= visit.window_end
        assert stop.eta <= stop.starts_at
    assert route.departs_at.astimezone(SHANGHAI).time() >= dt.time(9)
    assert route.returns_at.astimezone(SHANGHAI).time() <= dt.time(18)
    assert [s.starts_at for s in stops] == sorted(s.starts_at for s in stops)


def test_cancelling_a_visit_publishes_a_new_version_without_it(field: FieldTeam, committed) -> None:
    first = plan_monday(field, committed)
    cancelled = PlanStop.objects.filter(route__plan=first).order_by("sequence")[1].visit
    committed(services.visit_cancel, actor=field.cast.supervisor, visit_id=cancelled.pk, reason="借款人住院")
    first.refresh_from_db()
    assert first.status == PlanStatus.SUPERSEDED
    second = DayPlan.objects.get(team=field.cast.team, day=MONDAY, status=PlanStatus.PUBLISHED)
    assert second.version == 2 and second.reason == "借款人住院"
    kept = set(PlanStop.objects.filter(route__plan=second).values_list("visit_id", flat=True))
    before = set(PlanStop.objects.filter(route__plan=first).values_list("visit_id", flat=True))
    assert kept == before - {cancelled.pk}


def test_a_day_without_enough_time_leaves_the_lowest_priorities_out_and_says_why(field: FieldTeam, committed) -> None:
    plan_monday(field, committed)
    Collector.objects.filter(pk__in=[field.cast.collector.pk, field.cast.other_collector.pk]).update(
        shift_start=dt.time(9), shift_end=dt.time(11))
    plan = planning.day_plan_build(actor=field.cast.supervisor, team=field.cast.team, day=MONDAY)
    assert plan.version == 2
    assert plan.summary["planned"] + plan.summary["left_out"] == 6
    assert plan.summary["left_out"] >= 1
    assert {entry["reason"] for entry in plan.left_out} <= {"no_time", "window_unreachable", "no_allowed_window"}


ZONES = ["Asia/Shanghai", "Asia/Urumqi", "Asia/Tokyo"]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(
    allowed_start=st.integers(7, 12),
    allowed_end=st.integers(15, 22),
    window_opens=st.integers(8, 15),
    window_hours=st.integers(2, 8),
    weekdays=st.sets(st.integers(1, 7), min_size=1),
    zone=st.sampled_from(ZONES),
)
@example(allowed_start=8, allowed_end=22, window_opens=8, window_hours=2, weekdays={1}, zone="Asia/Shanghai")
def test_the_planner_never_produces_a_visit_the_gate_would_refuse(
    field: FieldTeam, allowed_start: int, allowed_end: int, window_opens: int, window_hours: int,
    weekdays: set[int], zone: str,
) -> None:
    cast = field.cast
    with transaction.atomic():
        try:
            quiet = ruleset_active("CN").rules.get(rule_id="CN-T1").params
            hours = {"allowed_start": f"{allowed_start:02d}:00", "allowed_end": f"{allowed_end:02d}:00"}
            if {name: quiet.get(name) for name in hours} != hours:
                compliance_services.ruleset_publish(
                    actor=cast.compliance, jurisdiction="CN", note="property test",
                    changes={"CN-T1": {"params": {**quiet, **hours}}},
                )
            compliance_services.caches_clear()
            for case in field.cases[::2]:
                case.borrower.time_zone = zone
                case.borrower.save(update_fields=["time_zone"])
                closes = min(23, window_opens + window_hours)
                borrower_facts_update(actor="system:test", borrower=case.borrower, reason="asked",
                                      contact_windows=[{"weekdays": sorted(weekdays), "opens": f"{window_opens:02d}:00",
                                                        "closes": f"{closes:02d}:00"}])
            services.visits_allocate(actor="system:test", day=MONDAY, team_ids=[cast.team.pk])
            services.visits_schedule(actor="system:test", day=MONDAY, team_ids=[cast.team.pk], notify_borrowers=False)
            crew = (cast.collector.pk, cast.other_collector.pk)
            for visit in Visit.objects.filter(status=VisitStatus.SCHEDULED):
                whole = check(ContactAction(case_id=visit.case_id, channel="visit", start=visit.window_start,
                                            end=visit.window_end, collector_ids=crew))
                assert whole.allowed, whole.reasons
            days = sorted({v.window_start.astimezone(SHANGHAI).date() for v in Visit.objects.all()})
            for day in days:
                plan = planning.day_plan_build(actor="system:test", team=cast.team, day=day, seconds=0.2)
                for stop in PlanStop.objects.filter(route__plan=plan).select_related("visit"):
                    at_the_door = check(ContactAction(case_id=stop.visit.case_id, channel="visit",
                                                      start=stop.starts_at, end=stop.departs_at, collector_ids=crew))
                    assert at_the_door.allowed, at_the_door.reasons
        finally:
            transaction.set_rollback(True)
            compliance_services.caches_clear()
