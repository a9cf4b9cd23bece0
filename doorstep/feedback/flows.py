"""Feedback's part of the daily run: record the complaints whose deadlines passed."""

from __future__ import annotations

from typing import Any

from doorstep.core.audit import Actor
from doorstep.feedback.services import complaint_breaches_record
from doorstep.strategy.models import DailyRun


def complaint_deadlines_step(run: DailyRun, actor: Actor) -> dict[str, Any]:
    return complaint_breaches_record(actor=actor)
