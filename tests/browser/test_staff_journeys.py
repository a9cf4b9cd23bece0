"""The main journeys of the staff pages, in a real browser: a manager at a desk, a collector on a phone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from doorstep.core.models import AuditEvent
from tests import factories
from tests.browser.conftest import log_in
from tests.conftest import Cast
from tests.portfolio import snapshots

pytestmark = pytest.mark.browser


@pytest.fixture
def portfolio(live_cast: Cast) -> Cast:
    """The cast plus a spread of cases over every bucket, so the summary has something to add up."""
    for name, days, principal, branch in (
        ("孙丽", 12, "800.00", "CD001"),
        ("周强", 75, "8000.00", "CD002"),
        ("吴敏", 200, "12000.00", "CD001"),
        ("郑洁", 25, "1500.00", "CD001"),
    ):
        case = factories.make_case(
            factories.make_borrower(name), days_past_due=days, overdue_principal=principal, branch_code=branch
        )
        factories.assign(case, live_cast.team, live_cast.other_collector)
    return live_cast


def rows(page: Any) -> list[str]:
    return page.locator("table.cases tbody tr td.primary-cell a").all_inner_texts()


def test_a_manager_filters_by_bucket_and_opens_a_case(
    desktop: Any, live_server: Any, portfolio: Cast, screenshot: Any
) -> None:
    page = desktop
    log_in(page, live_server, "manager")

    expect(page.locator("h1")).to_have_text("案件")
    assert len(rows(page)) == 7
    total = page.locator(".summary-tile.total")
    expect(total).to_contain_text("7 件")
    # 3 x 3,170.50 + 970.50 + 8,170.50 + 12,170.50 + 1,670.50, each with 150.00 interest and 20.50 penalty.
    expect(total).to_contain_text("¥32,493.50")
    expect(page.locator(".summary-tile.bucket-m1")).to_contain_text("¥2,641.00")
    screenshot(page, "manager-case-list")

    page.select_option("#id_bucket", "M2")
    expect(page).to_have_url(re.compile(r"bucket=M2"))
    expect(page.locator("table.cases tbody tr")).to_have_count(3)
    assert set(rows(page)) == {"张伟", "刘洋", "陈静"}
    expect(total).to_contain_text("¥9,511.50")
    screenshot(page, "manager-case-list-m2")

    page.click("text=张伟")
    expect(page.locator("h1")).to_contain_text("张伟")
    expect(page.locator("#loans-heading")).to_have_text("贷款")
    expect(page.locator("body")).to_contain_text("¥30,000.00")
    borrower = portfolio.own_case.borrower
    expect(page.locator("#reveal-phone")).to_contain_text(borrower.phone_masked)
    screenshot(page, "manager-case-page")

    page.click("#reveal-phone button")
    expect(page.locator("#reveal-phone")).to_contain_text("本次查看已记录")
    expect(page.locator("#reveal-phone .mono")).not_to_contain_text("*")
    assert AuditEvent.objects.filter(action="portfolio.borrower.revealed_phone", actor=portfolio.manager).count() == 1
    assert page.console_errors == []


def test_a_collector_on_a_phone_sees_only_their_own_cases(
    phone: Any, live_server: Any, portfolio: Cast, screenshot: Any
) -> None:
    page = phone
    log_in(page, live_server, "collector")

    assert rows(page) == ["张伟"]
    expect(page.locator("body")).not_to_contain_text("刘洋")
    # The filter panel starts folded on a phone, and opens on a tap.
    filters = page.locator("details.filters-box")
    expect(filters).not_to_have_attribute("open", "")
    expect(page.locator("#id_bucket")).to_be_hidden()
    # The table turns into stacked cards: the header row is hidden and each value carries its label.
    expect(page.locator("table.cases thead")).to_be_hidden()
    page.wait_for_load_state("load")
    card = page.locator("table.cases tbody tr").first
    assert card.bounding_box()["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "collector-phone-case-list")
    filters.locator("summary").click()
    expect(page.locator("#id_bucket")).to_be_visible()
    screenshot(page, "collector-phone-filters-open", full_page=False)

    page.click("text=张伟")
    expect(page.locator("h1")).to_contain_text("张伟")
    page.wait_for_load_state("load")  # the stylesheet must be in before the width means anything
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "collector-phone-case-page")

    response = page.goto(f"{live_server.url}/cases/{portfolio.colleagues_case.pk}/")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("页面不存在")
    screenshot(page, "collector-phone-404")


def test_the_language_switch_changes_the_page_between_chinese_and_english(
    desktop: Any, live_server: Any, live_cast: Cast, screenshot: Any
) -> None:
    page = desktop
    log_in(page, live_server, "manager")
    expect(page.locator("h1")).to_have_text("案件")

    expect(page.locator("button[lang='en']")).to_have_text("English")
    expect(page.locator("button[lang='zh-hans']")).to_have_text("简体中文")
    page.click("button[lang='en']")
    expect(page.locator("h1")).to_have_text("Cases")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("label[for='id_bucket']")).to_have_text("Bucket")
    screenshot(page, "manager-case-list-english")

    page.click("button[lang='zh-hans']")
    expect(page.locator("h1")).to_have_text("案件")
    expect(page.locator("label[for='id_bucket']")).to_have_text("账龄")


def test_a_manager_uploads_a_snapshot_and_the_status_page_follows_the_import(
    desktop: Any, live_server: Any, live_cast: Cast, screenshot: Any, settings: Any, tmp_path: Path
) -> None:
    settings.DOORSTEP_UPLOAD_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    snapshot = tmp_path / "overdue-20261127.csv"
    snapshot.write_text(
        snapshots.csv_text([snapshots.loan("LBROWSER01", 601, name="蒋欣"), snapshots.loan("LBROWSER02", 602, days=120)]),
        encoding="utf-8",
    )
    page = desktop
    log_in(page, live_server, "manager")

    page.click("nav >> text=数据导入")
    page.set_input_files("#id_file", str(snapshot))
    page.click("button.primary")
    expect(page.locator("#import-status")).to_contain_text("自动刷新")
    screenshot(page, "manager-import-waiting")

    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)

    # No reload: the status panel polls every two seconds and swaps itself for the result.
    expect(page.locator("#import-status")).to_contain_text("逾期数据已导入", timeout=20_000)
    expect(page.locator("#import-status")).to_contain_text("新立案件")
    screenshot(page, "manager-import-done")
    page.click("text=查看案件")
    expect(page.locator("table.cases")).to_contain_text("蒋欣")
