"""The collectors' part of the daily run: certificates about to expire and expired, and the QA sample."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone

from doorstep.collectors import services
from doorstep.core.audit import Actor

QA_RANDOM_SHARE = 0.05


def training_step(run: Any, actor: Actor) -> dict[str, Any]:
    """Certificates: reminders 30 days ahead, expiry flags on open cases; then yesterday's visits sampled
    for quality review."""
    day: dt.date = run.business_date
    summary = services.certificates_daily(actor=actor, today=day)
    zone = timezone.get_default_timezone()
    until = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    share = float(getattr(settings, "DOORSTEP_QA_SHARE", QA_RANDOM_SHARE))
    samples = services.qa_sample_draw(actor=actor, since=until - dt.timedelta(days=1), until=until, share=share)
    return {
        "reminded": summary.reminded,
        "expired": summary.expired,
        "cases_flagged": summary.cases_flagged,
        "enrolled": summary.enrolled,
        "qa_sampled": len(samples),
    }
