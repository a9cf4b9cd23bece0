"""The demo's dashboards: the facts of the demo month, and its monthly report."""

from __future__ import annotations

from doorstep.core.demo import DEMO_ACTOR, DemoContext
from doorstep.reports import metrics
from doorstep.reports.models import MonthlyReport
from doorstep.reports.services import facts_refresh, monthly_report_generate


def demo_run(context: DemoContext) -> None:
    # Both steps replace what an earlier run made, so running the demo again is safe.
    summary = facts_refresh(actor=DEMO_ACTOR, business_date=context.snapshot_date)
    context.say(f"Dashboard facts: {summary['cases']} case months in {', '.join(summary['months'])}")
    month = metrics.month_start(context.snapshot_date)
    if not MonthlyReport.objects.filter(month=month).exists():
        monthly_report_generate(actor=DEMO_ACTOR, month=month)
    context.say(f"Monthly report for {month:%Y-%m} in the archive")
