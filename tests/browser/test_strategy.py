"""A manager drafts a rule and previews it, a second manager approves it, and the next daily run applies it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from doorstep.core.roles import Role
from doorstep.strategy.models import CaseTreatment, StrategyVersion, VersionStatus
from tests import factories
from tests.browser.conftest import log_in
from tests.conftest import Cast

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _frames_in_a_temporary_directory(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.DOORSTEP_STRATEGY_FRAMES_DIR = tmp_path / "strategy-frames"


@pytest.fixture
def scripts(live_cast: Cast) -> None:
    """The default scripts; an earlier transactional test may have flushed what the migration seeded."""
    import importlib

    from django.apps import apps

    seeding = importlib.import_module("doorstep.strategy.migrations.0002_seed_scripts")
    seeding.seed(apps, None)


def test_a_drafted_rule_is_previewed_approved_by_a_second_manager_and_applied_by_the_daily_run(
    browser: Any, desktop: Any, live_server: Any, live_cast: Cast, scripts: None, screenshot: Any
) -> None:
    factories.make_user("manager2", Role.MANAGER, first_name="孙经理")
    page = desktop
    log_in(page, live_server, "manager")

    page.goto(f"{live_server.url}/strategy/")
    page.fill("#id_code", "standard")
    page.fill("#id_name", "标准策略")
    page.locator("form[action$='/strategy/new/'] button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("标准策略 v1")

    page.locator("a[href$='/rules/new/']").click()
    page.fill("#id_name", "M2 大额上门")
    page.fill("#id_condition", "bucket = M2 and overdue_amount >= 3000 and not do_not_visit")
    page.select_option("#id_step1_channel", "call")
    page.fill("#id_step1_day", "0")
    page.select_option("#id_step1_script", "call_m2")
    page.select_option("#id_step2_channel", "visit")
    page.fill("#id_step2_day", "3")
    page.fill("#id_step2_every", "14")
    page.select_option("#id_step2_script", "visit_first")
    page.fill("#id_step2_priority", "1")
    page.locator("form.card button[type=submit]").click()
    expect(page.locator("#rules")).to_contain_text(
        "bucket == M2 and overdue_amount >= 3000.00 and not do_not_visit"
    )

    page.click("#preview-button")
    preview = page.locator("#preview-table")
    expect(preview).to_contain_text("M2 大额上门")
    # The cast's three M2 cases owe ¥3,170.50 each.
    expect(preview).to_contain_text("¥9,511.50")
    screenshot(page, "strategy-draft-preview")

    page.locator("form[action$='/submit/'] button[type=submit]").click()
    expect(page.locator("h1 .status")).to_have_class("status status-pending")
    expect(page.locator("form[action$='/approve/']")).to_have_count(0)  # not by the one who submitted
    version = StrategyVersion.objects.get(strategy__code="standard")

    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    approver = context.new_page()
    log_in(approver, live_server, "manager2")
    approver.goto(f"{live_server.url}/strategy/versions/{version.pk}/")
    approver.locator("form[action$='/approve/'] button[type=submit]").click()
    expect(approver.locator("h1 .status")).to_have_class("status status-active")
    screenshot(approver, "strategy-approved")
    context.close()
    assert StrategyVersion.objects.get(pk=version.pk).status == VersionStatus.ACTIVE

    day = dt.date.today()
    call_command("run_daily", "--date", day.isoformat(), "--wait")

    treatments = CaseTreatment.objects.filter(business_date=day, version=version)
    assert {(t.rule_name, t.next_channel, t.next_script) for t in treatments} == {
        ("M2 大额上门", "call", "call_m2")
    }
    assert treatments.count() == 3
    page.goto(f"{live_server.url}/strategy/runs/")
    expect(page.locator("#runs")).to_contain_text(day.isoformat())
    expect(page.locator("#runs")).to_contain_text("催收策略")
    screenshot(page, "strategy-daily-run")
    assert page.console_errors == []
