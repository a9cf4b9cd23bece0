"""Background jobs of the reports app: thin wrappers over its services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.tasks import task

from doorstep.reports.services import facts_refresh, monthly_report_generate


@task()
def facts_refresh_task(business_date: str) -> dict[str, Any]:
    return facts_refresh(actor="system:reports", business_date=dt.date.fromisoformat(business_date))


@task()
def monthly_report_task(month: str) -> list[int]:
    reports = monthly_report_generate(actor="system:reports", month=dt.date.fromisoformat(f"{month}-01"))
    return [report.pk for report in reports]
