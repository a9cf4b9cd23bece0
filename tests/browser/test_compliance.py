"""The compliance officer finds a refused contact and the team lead's override in the report, in a browser."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from doorstep.compliance import services
from tests.compliance.conftest import certify, field_visit, local, phone_call
from tests.conftest import Cast

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.browser

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
OVERRIDE_REASON = "搭档临时请假，组长电话确认后批准单人上门"


@pytest.fixture
def ledger_with_override(transactional_db: None, cast: Cast) -> Cast:
    services.caches_clear()
    certify(cast.collector)
    certify(cast.other_collector)
    services.contact_record(
        actor=cast.collector_user,
        action=phone_call(cast.own_case, local("2026-11-20T22:10:00"), cast.collector),
    )
    visit, _ = services.contact_record(
        actor=cast.collector_user,
        action=field_visit(cast.own_case, local("2026-11-21T10:00:00"), cast.collector),
    )
    services.contact_override(actor=cast.supervisor, contact_event=visit, reason=OVERRIDE_REASON)
    services.contact_record(
        actor=cast.other_collector_user,
        action=phone_call(cast.colleagues_case, local("2026-11-22T10:00:00"), cast.other_collector),
    )
    return cast


def test_the_compliance_officer_finds_a_refusal_and_its_override(
    desktop: Any, live_server: Any, ledger_with_override: Cast
) -> None:
    from playwright.sync_api import expect

    page = desktop
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "auditor")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button.primary")
    page.wait_for_url(f"{live_server.url}/cases/**")

    page.goto(f"{live_server.url}/compliance/")
    page.fill("#id_since", "2026-11-01")
    page.fill("#id_until", "2026-11-30")
    page.locator("form.report-filters button[type=submit]").click()
    page.wait_for_url("**/compliance/?since=2026-11-01**")

    refusals = page.locator("#refusals tbody tr")
    expect(refusals).to_have_count(2)
    refused = page.locator("#refusals tr.verdict-refused")
    expect(refused).to_contain_text("CN-T1")
    expect(refused).to_contain_text("22:10")
    overridden = page.locator("#refusals tr.verdict-overridden")
    expect(overridden).to_contain_text("CN-V1")
    expect(overridden.locator(".override-note")).to_contain_text(OVERRIDE_REASON)
    expect(page.locator("svg.chart")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "compliance-report.png"), full_page=True)

    overridden.get_by_role("link").first.click()
    page.wait_for_url("**/compliance/cases/**")
    expect(page.locator("table.contacts tbody tr")).to_have_count(2)
    expect(page.locator(".override-note")).to_contain_text(OVERRIDE_REASON)
    page.screenshot(path=str(SHOTS / "compliance-timeline.png"), full_page=True)
    assert page.console_errors == []
