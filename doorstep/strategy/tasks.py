"""Background jobs of the daily cycle: one task per step, each enqueueing the next when it succeeds."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.tasks import task

from doorstep.core.audit import Actor
from doorstep.strategy import flows
from doorstep.strategy.models import DailyRun, RunStatus

SYSTEM_ACTOR = "system:daily-run"


def _actor(user_id: int | None) -> Actor:
    if user_id is None:
        return SYSTEM_ACTOR
    return get_user_model().objects.filter(pk=user_id).first() or SYSTEM_ACTOR


@task()
def daily_run_step(run_id: int, name: str, user_id: int | None = None) -> dict[str, Any]:
    row = flows.daily_step_execute(run_id=run_id, name=name, actor=_actor(user_id))
    run = DailyRun.objects.get(pk=run_id)
    following = flows.next_step_name(run, name) if row.status == RunStatus.SUCCEEDED else None
    if following is not None:
        daily_run_step.enqueue(run_id, following, user_id)
    else:
        flows.daily_run_finish(run_id=run_id)
    return {"step": name, "status": row.status}


def daily_run_enqueue(*, run: DailyRun, user_id: int | None = None) -> None:
    """Start the chain of `run` on the task backend, from its first step (finished steps are skipped)."""
    first = flows.next_step_name(run, None)
    if first is not None:
        daily_run_step.enqueue(run.pk, first, user_id)
