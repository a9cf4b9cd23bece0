"""A collector proposes a settlement above their authority on a phone, the team lead approves it, the bank's
payments file arrives, the promise turns kept and the case is under arrangement."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from doorstep.arrangements.models import PlanStatus, PromiseStatus, PromiseToPay, RepaymentPlan
from doorstep.payments.services import payments_import
from doorstep.portfolio.models import CaseStatus
from tests.browser.conftest import log_in
from tests.conftest import Cast

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots/money")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_plan_above_authority_is_approved_and_a_payment_keeps_the_promise(
    browser: Any, phone: Any, desktop: Any, live_server: Any, live_cast: Cast, tmp_path: Path
) -> None:
    case = live_cast.own_case
    today = timezone.localdate()
    page = phone
    log_in(page, live_server, "collector")
    page.goto(f"{live_server.url}/arrangements/case/{case.pk}/")
    expect(page.locator("h1")).to_contain_text("张伟")

    page.locator("summary", has_text="登记还款承诺").click()
    page.fill("#id_promise-amount", "500.00")
    page.fill("#id_promise-due_on", (today + dt.timedelta(days=3)).isoformat())
    page.select_option("#id_promise-channel", "visit")
    page.locator("form[action$='/promise/'] button[type=submit]").click()
    expect(page.locator(".messages")).to_be_visible()
    expect(page.locator("#promises-heading + .table-wrap")).to_contain_text("待兑现")

    page.locator("summary", has_text="提出还款方案").click()
    page.select_option("#id_plan-kind", "settlement")
    page.fill("#id_plan-first_due", (today + dt.timedelta(days=10)).isoformat())
    page.fill("#id_plan-count", "1")
    page.fill("#id_plan-discount_percent", "20")
    page.fill("#id_plan-forbearance_note", "失业半年，家中两名子女")
    shot(page, "collector-plan-form-phone")
    page.locator("form[action$='/plan/'] button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("结清")
    expect(page.locator(".head-badges")).to_contain_text("待审批")
    plan = RepaymentPlan.objects.get(case=case)
    assert plan.status == PlanStatus.PENDING_APPROVAL and plan.required_level == "supervisor"
    shot(page, "collector-plan-pending-phone")

    lead = desktop
    log_in(lead, live_server, "lead")
    lead.goto(f"{live_server.url}/arrangements/approvals/")
    shot(lead, "lead-approvals")
    lead.locator(f"a[href$='/arrangements/plans/{plan.pk}/']").click()
    lead.fill("#id_note", "困难属实，同意")
    lead.locator("button", has_text="批准").click()
    expect(lead.locator(".head-badges")).to_contain_text("生效中")
    shot(lead, "lead-plan-approved")
    plan.refresh_from_db()
    case.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE and case.status == CaseStatus.ARRANGEMENT

    loan = case.loans.get()
    payments = tmp_path / "payments.csv"
    payments.write_text(
        "txn_id,loan_id,amount,currency,paid_at,channel,reversal_of\n"
        f"BRW-1,{loan.loan_id},500.00,CNY,{timezone.now().isoformat()},mobile_banking,\n"
    )
    payments_import(actor=None, path=payments)

    page.goto(f"{live_server.url}/arrangements/case/{case.pk}/")
    expect(page.locator("#promises-heading + .table-wrap")).to_contain_text("已兑现")
    expect(page.locator("#payments-heading + .table-wrap")).to_contain_text("¥500.00")
    expect(page.locator(".head-badges")).to_contain_text("还款方案执行中")
    shot(page, "collector-case-after-payment-phone")
    assert PromiseToPay.objects.get(case=case).status == PromiseStatus.KEPT
