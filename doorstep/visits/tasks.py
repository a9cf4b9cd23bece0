"""Background jobs of visit planning: thin wrappers over its services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.tasks import task

from doorstep.visits import flows, planning

PLANNING_ACTOR = "system:visit-planning"


@task()
def field_day_prepare_task(day: str) -> dict[str, Any]:
    """Allocation, appointments with notice and day plans for the field week starting `day` (ISO date)."""
    return flows.field_day_prepare(actor=PLANNING_ACTOR, day=dt.date.fromisoformat(day))


@task()
def day_plan_replan_task(team_id: int, day: str, reason: str) -> int | None:
    """Re-plan a team's published day; returns the new plan's id, or None if the day had no published plan."""
    plan = planning.day_plan_replan(actor=PLANNING_ACTOR, team_id=team_id, day=dt.date.fromisoformat(day),
                                    reason=reason)
    return plan.pk if plan else None
