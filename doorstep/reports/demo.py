"""The demo's dashboards: the facts of the demo month, and its monthly report."""

from __future__ import annotations

import datetime as dt

from django.db.models import Max
from django.utils import timezone

from doorstep.compliance.models import ContactEvent
from doorstep.core.demo import DEMO_ACTOR, DemoContext
from doorstep.reports import metrics
from doorstep.reports.models import MonthlyReport
from doorstep.reports.services import facts_refresh, monthly_report_generate
from doorstep.visits.models import Visit


def _last_activity_day(context: DemoContext) -> dt.date:
    """The demo's other apps play out visits and contacts up to a few days after the snapshot."""
    latest = [
        Visit.objects.aggregate(last=Max("checked_out_at"))["last"],
        ContactEvent.objects.aggregate(last=Max("started_at"))["last"],
    ]
    days = [timezone.localdate(value) for value in latest if value is not None]
    return max([context.snapshot_date, *days])


def demo_run(context: DemoContext) -> None:
    # Both steps replace what an earlier run made, so running the demo again is safe.
    summary = facts_refresh(actor=DEMO_ACTOR, business_date=context.snapshot_date)
    context.say(f"Dashboard facts: {summary['cases']} case months in {', '.join(summary['months'])}")
    last = _last_activity_day(context)
    if metrics.month_start(last) != metrics.month_start(context.snapshot_date) or last > context.snapshot_date:
        summary = facts_refresh(actor=DEMO_ACTOR, business_date=last)
        context.say(f"Dashboard facts as of {last}: {', '.join(summary['months'])}")
    month = metrics.month_start(context.snapshot_date)
    if not MonthlyReport.objects.filter(month=month).exists():
        monthly_report_generate(actor=DEMO_ACTOR, month=month)
    context.say(f"Monthly report for {month:%Y-%m} in the archive")
