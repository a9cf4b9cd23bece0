"""A manager follows a point of the trend chart to the cases behind it, and on to a case page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from doorstep.compliance.models import ContactEvent
from doorstep.reports.services import facts_refresh
from tests.browser.conftest import log_in
from tests.conftest import Cast


def test_manager_drills_from_a_chart_to_the_cases_behind_it(desktop: Any, live_server: Any, live_cast: Cast) -> None:
    at = timezone.now() - dt.timedelta(minutes=5)
    case = live_cast.own_case
    ContactEvent.objects.create(
        case=case, borrower=case.borrower, channel="call", started_at=at, created_at=at, actor_label="test",
        verdict="allowed", right_party=True, connected=True,
    )
    facts_refresh(actor="system:test", business_date=timezone.localdate())
    log_in(desktop, live_server, "manager")
    desktop.goto(f"{live_server.url}/reports/")
    point = desktop.locator("svg.chart a[href*='stage=right_party']").first
    point.click()
    desktop.wait_for_url("**/reports/cases/**")
    rows = desktop.locator("#drill-cases tbody tr")
    assert rows.count() == 1
    rows.first.locator("a").click()
    desktop.wait_for_url(f"**/cases/{case.pk}/")
    assert desktop.console_errors == []
