"""The field day as one flow: settled cases lose their visits, due cases get a crew and an appointment with
notice, and the day plans are published. The daily run calls it after the strategy step; so does the demo."""

from __future__ import annotations

import datetime as dt
from typing import Any

from doorstep.core.audit import Actor
from doorstep.visits import planning, services


def field_day_prepare(
    *, actor: Actor, day: dt.date, days: int = services.HORIZON_DAYS, plan_days: int = 2,
    team_ids: list[int] | None = None,
) -> dict[str, Any]:
    cancelled = services.visits_cancel_closed_cases(actor=actor)
    allocation = services.visits_allocate(actor=actor, day=day, days=days, team_ids=team_ids)
    schedule = services.visits_schedule(actor=actor, day=day, days=days, team_ids=team_ids, allocation=allocation)
    plans = []
    for offset in range(plan_days):
        plans.extend(planning.day_plans_build(actor=actor, day=day + dt.timedelta(days=offset), team_ids=team_ids))
    return {
        "cancelled": cancelled,
        "allocated": allocation.allocated,
        "allocated_by_reason": allocation.by_reason,
        "not_allocated": allocation.unplaced,
        "scheduled": schedule.scheduled,
        "refused_by_gate": schedule.refused,
        "no_room": schedule.no_room,
        "plans": len(plans),
    }


def field_day_step(run: Any, actor: Actor) -> dict[str, Any]:
    return field_day_prepare(actor=actor, day=run.business_date)
