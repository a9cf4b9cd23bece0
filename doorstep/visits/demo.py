"""The demo's field week: crews, allocation, appointments with notices in the outbox, and published day
plans for the first working days; then, where the field app is installed, a few visits carried out."""

from __future__ import annotations

import datetime as dt
import time
from importlib import import_module
from importlib.util import find_spec

from doorstep.core.demo import DEMO_ACTOR, DemoContext
from doorstep.visits import planning, services
from doorstep.visits.models import DayPlan, PlanStatus, Visit, VisitStatus

PLANNED_DAYS = 2


def demo_run(context: DemoContext) -> None:
    started = time.perf_counter()
    day = context.snapshot_date
    cancelled = services.visits_cancel_closed_cases(actor=DEMO_ACTOR)
    allocation = services.visits_allocate(actor=DEMO_ACTOR, day=day)
    schedule = services.visits_schedule(actor=DEMO_ACTOR, day=day, allocation=allocation)
    # Notices are queued after commit; outside a transaction that is now. Any the first run missed go now.
    pending = list(Visit.objects.filter(status=VisitStatus.SCHEDULED, notice_message_id__isnull=True)
                   .values_list("pk", flat=True))
    notices = services.visit_notices_send(actor=DEMO_ACTOR, visit_ids=pending) if pending else 0
    context.say(
        f"  {allocation.allocated} cases allocated to crews, {schedule.scheduled} visits scheduled "
        f"({schedule.refused} refused by the gate, {schedule.no_room} without room), {notices} notices queued, "
        f"{cancelled} visits of settled cases cancelled"
    )
    plans = 0
    planned_days = []
    for offset in range(14):
        if len(planned_days) >= PLANNED_DAYS:
            break
        candidate = day + dt.timedelta(days=offset)
        start = planning.day_start(candidate)
        teams = set(
            Visit.objects.filter(window_start__gte=start, window_start__lt=start + dt.timedelta(days=1),
                                 status__in=planning.PLANNED_STATUSES).values_list("collector__team_id", flat=True)
        )
        if not teams:
            continue
        planned_days.append(candidate)
        done = set(DayPlan.objects.filter(day=candidate, status=PlanStatus.PUBLISHED).values_list("team_id", flat=True))
        todo = sorted(teams - done)
        if todo:
            plans += len(planning.day_plans_build(actor=DEMO_ACTOR, day=candidate, team_ids=todo))
    context.say(f"  {plans} day plans published for {', '.join(d.isoformat() for d in planned_days) or '-'}"
                f" in {time.perf_counter() - started:.1f} s")
    if find_spec("doorstep.visits.field_demo") is not None:
        field_demo = import_module("doorstep.visits.field_demo")
        if hasattr(field_demo, "record_sample_visits"):
            field_demo.record_sample_visits(context)
