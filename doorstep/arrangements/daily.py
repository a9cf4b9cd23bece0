"""The arrangements step of the daily run: judge promises and plans, then queue the reminders."""

from __future__ import annotations

from typing import Any

from doorstep.core.audit import Actor


def follow_up_step(run: Any, actor: Actor) -> dict[str, Any]:
    from doorstep.arrangements.services import arrangements_follow, reminders_queue

    summary = arrangements_follow(actor=actor, today=run.business_date)
    summary["reminders"] = reminders_queue(actor=actor, today=run.business_date)
    return summary
