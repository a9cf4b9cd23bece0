"""Background jobs of the field app: thin wrappers over its services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.tasks import task
from django.utils import timezone

from doorstep.core.audit import Actor
from doorstep.visits.field_services import alerts_overdue_raise

ALERTS_ACTOR = "system:visit-alerts"


@task()
def visits_overdue_alerts_task(now: str | None = None) -> dict[str, Any]:
    """Raise an alert for every visit at the door past its planned time plus the margin. Run it every few
    minutes through the working day (a scheduler calling `doorstep visits-alerts` does the same)."""
    moment = dt.datetime.fromisoformat(now) if now else timezone.now()
    return {"now": moment.isoformat(), "raised": alerts_overdue_raise(now=moment, actor=ALERTS_ACTOR)}


def overdue_alerts_step(run: Any, actor: Actor) -> dict[str, Any]:
    """The daily run's sweep: visits still at the door when the run starts get their alert."""
    return {"raised": alerts_overdue_raise(now=timezone.now(), actor=actor)}
