"""The borrower portal on a phone: 张伟 opens the link in the visit notice from the outbox, passes the second
factor with the code read from the outbox, checks the collector's badge, moves the visit, rates his last
visit and complains; a complaint handler acknowledges and resolves the complaint at her desk; 张伟 sees it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from doorstep.collectors.models import Certificate
from doorstep.compliance.services import caches_clear
from doorstep.core.crypto import encrypt_text
from doorstep.feedback.models import Complaint, ComplaintStatus, VisitRating
from doorstep.notify import backends
from doorstep.notify.models import Message
from doorstep.notify.services import outbox_dispatch
from doorstep.visits.models import BorrowerResponse, Visit, VisitStatus
from doorstep.visits.services import visit_notices_send
from tests.conftest import Cast

pytestmark = pytest.mark.browser

SHANGHAI = ZoneInfo("Asia/Shanghai")
NATIONAL_ID = "510104199003071234"
SHOTS = Path("/tmp/shots/portal")
LINK = re.compile(r"(https?://\S+/portal/l/[^\s/]+/)")
CODE = re.compile(r"\b(\d{6})\b")


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def outbox_text(message: Message) -> str:
    return backends.message_file(message).read_text(encoding="utf-8")


def next_weekday(days_ahead: int = 2) -> dt.date:
    day = timezone.localdate(timezone.now(), SHANGHAI) + dt.timedelta(days=days_ahead)
    while day.isoweekday() > 5:
        day += dt.timedelta(days=1)
    return day


@pytest.fixture
def borrower_world(live_cast: Cast, live_server: Any, settings: Any, tmp_path: Path) -> dict[str, Any]:
    settings.DOORSTEP_NOTIFY_BACKEND = "file"
    settings.DOORSTEP_NOTIFY_OUTBOX_DIR = tmp_path / "outbox"
    settings.DOORSTEP_PORTAL_BASE_URL = live_server.url
    caches_clear()
    cast = live_cast
    borrower = cast.own_case.borrower
    borrower.national_id_encrypted = encrypt_text(NATIONAL_ID)
    borrower.save(update_fields=["national_id_encrypted"])
    for collector in (cast.collector, cast.other_collector):
        for kind in ("pre_job", "annual"):
            Certificate.objects.create(collector=collector, kind=kind, issued_on=dt.date(2026, 1, 5),
                                       expires_on=dt.date(2030, 12, 31))
    day = next_weekday()
    visit = Visit.objects.create(
        case=cast.own_case, borrower=borrower, purpose="上门沟通逾期还款事宜",
        window_start=dt.datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI),
        window_end=dt.datetime(day.year, day.month, day.day, 12, tzinfo=SHANGHAI),
        collector=cast.collector, partner=cast.other_collector, created_by_label="test",
    )
    earlier = timezone.now() - dt.timedelta(days=6)
    last_visit = Visit.objects.create(
        case=cast.own_case, borrower=borrower, purpose="上门沟通", window_start=earlier,
        window_end=earlier + dt.timedelta(hours=2), collector=cast.collector, partner=cast.other_collector,
        created_by_label="test", status=VisitStatus.COMPLETED,
    )
    assert visit_notices_send(actor="system:test", visit_ids=[visit.pk]) == 1
    notice = Message.objects.get(template="visit_notice", channel="sms")
    # Deliver the notice whenever the gate allows it (the test may run inside quiet hours).
    outbox_dispatch(now=max(timezone.now(), notice.send_after))
    notice.refresh_from_db()
    return {"cast": cast, "borrower": borrower, "visit": visit, "last_visit": last_visit, "notice": notice}


def test_a_borrower_checks_the_collector_moves_the_visit_rates_and_complains(
    phone: Any, desktop: Any, live_server: Any, borrower_world: dict[str, Any]
) -> None:
    borrower, visit, last_visit = borrower_world["borrower"], borrower_world["visit"], borrower_world["last_visit"]
    page = phone

    # The link, as the borrower's phone received it.
    notice = outbox_text(borrower_world["notice"])
    assert "赵催收（工号CD0001）" in notice
    link = LINK.search(notice)
    assert link, notice
    page.goto(link.group(1))
    expect(page).to_have_url(f"{live_server.url}/portal/verify/")
    expect(page.locator("h1")).to_have_text("验证身份")
    shoot(page, "01-verify-id")

    # Second factor: the ID's last four characters, then the code from the outbox.
    page.get_by_label("身份证号码后4位").fill(NATIONAL_ID[-4:])
    page.get_by_role("button", name="发送验证码").click()
    expect(page.get_by_label("短信中的6位验证码")).to_be_visible()
    shoot(page, "02-verify-code")
    code_message = Message.objects.filter(borrower=borrower, template="portal_code").latest("pk")
    code = CODE.search(outbox_text(code_message).split("\n\n", 1)[1])
    assert code
    page.get_by_label("短信中的6位验证码").fill(code.group(1))
    page.get_by_role("button", name="继续").click()
    expect(page).to_have_url(f"{live_server.url}/portal/")
    expect(page.locator("h1")).to_contain_text("张伟")
    expect(page.locator(".owed-total")).to_contain_text("¥3,170.50")
    expect(page.locator("footer")).to_contain_text("催收员绝不收取现金")
    shoot(page, "03-overview")
    assert not page.console_errors

    # Someone at the door: the badge checks out.
    page.get_by_role("link", name="核验工牌").first.click()
    page.get_by_label("工牌号").fill("CD0001")
    page.get_by_role("button", name="核验", exact=True).click()
    result = page.locator(".badge-result")
    expect(result).to_contain_text("赵催收")
    expect(result).to_contain_text("锦江一组")
    expect(result.locator("dt:has-text('派来拜访您') + dd")).to_have_text("是")
    shoot(page, "04-badge")

    # The coming visit does not suit: move it to another offered time.
    page.locator(".portal-nav").get_by_role("link", name="上门拜访").click()
    card = page.locator(".visit-card")
    expect(card).to_contain_text("CD0002")
    card.locator("summary", has_text="改到其他时间").click()
    first_slot = card.locator(".slot input[type=radio]").first
    first_slot.check()
    chosen = first_slot.get_attribute("value")
    shoot(page, "05-move")
    card.get_by_role("button", name="改期").click()
    expect(page.locator("p[role=status]")).to_contain_text("拜访已改期")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.CANCELLED and visit.response == BorrowerResponse.RESCHEDULED
    moved = Visit.objects.get(rescheduled_from=visit)
    assert moved.window_start == dt.datetime.fromisoformat(chosen) and moved.response_channel == "portal"
    shoot(page, "06-moved")

    # Rate the last visit.
    page.get_by_role("link", name="评价这次拜访").click()
    page.locator("label", has_text="4 ★").click()
    page.get_by_label("评价内容（选填）").fill("两位工作人员很有礼貌")
    shoot(page, "07-rate")
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("p[role=status]")).to_contain_text("感谢您的评价")
    rating = VisitRating.objects.get(visit=last_visit)
    assert rating.stars == 4 and rating.source == "portal"

    # Complain about the last visit.
    page.locator(".portal-nav").get_by_role("link", name="投诉").click()
    page.get_by_label("投诉事项").select_option("improper_time")
    page.get_by_label("涉及哪次上门拜访（如有）").select_option(str(last_visit.pk))
    page.get_by_label("请描述发生了什么").fill("工作人员晚上九点半还在敲门。")
    page.get_by_role("button", name="提交投诉").click()
    expect(page.locator("p[role=status]")).to_contain_text("您的投诉已收到")
    complaint = Complaint.objects.get(borrower=borrower)
    assert complaint.visit == last_visit and complaint.channel == "portal"
    mine = page.locator(".complaint-list li").first
    expect(mine).to_contain_text(complaint.reference)
    expect(mine.locator(".status")).to_have_class(re.compile("complaint-received"))
    shoot(page, "08-complaint-filed")

    # At the bank: the compliance officer acknowledges, investigates and upholds the complaint.
    desk = desktop
    log_in_handler(desk, live_server)
    desk.goto(f"{live_server.url}/feedback/complaints/{complaint.pk}/")
    expect(desk.locator("main")).to_contain_text(complaint.reference)
    desk.locator("#step-acknowledge").click()
    expect(desk.locator(".status-badge")).to_have_class(re.compile("status-acknowledged"))
    desk.locator("#step-investigate").click()
    expect(desk.locator(".status-badge")).to_have_class(re.compile("status-investigating"))
    desk.locator("fieldset.outcome input[type=radio]").first.check()
    desk.locator("textarea[name=resolution]").fill("经核实，拜访时间不当，已对相关人员进行教育。")
    desk.locator("#step-resolve").click()
    expect(desk.locator(".status-badge")).to_have_class(re.compile("status-resolved"))
    desk.screenshot(path=str(SHOTS / "09-handler-resolved.png"), full_page=True)
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.RESOLVED

    # The borrower sees the status change and the bank's answer.
    page.reload()
    mine = page.locator(".complaint-list li").first
    expect(mine.locator(".status")).to_have_class(re.compile("complaint-resolved"))
    expect(mine).to_contain_text("已对相关人员进行教育")
    shoot(page, "10-complaint-resolved")
    assert not page.console_errors


def log_in_handler(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "auditor")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button.primary")
    page.wait_for_load_state()


def test_the_portal_on_a_phone_in_english_and_a_wrong_code(
    phone: Any, live_server: Any, borrower_world: dict[str, Any]
) -> None:
    page = phone
    link = LINK.search(outbox_text(borrower_world["notice"]))
    assert link
    page.goto(link.group(1))
    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_have_text("Confirm it is you")
    page.get_by_label("Last 4 characters of your ID card number").fill("0000")
    page.get_by_role("button", name="Send me a code").click()
    page.get_by_label("The 6-digit code from the SMS").fill("123456")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("p[role=alert]")).to_contain_text("4 tries left")
    shoot(page, "11-wrong-code-en")
    assert not Message.objects.filter(template="portal_code").exists()



def test_a_manager_reads_the_outbox_with_recipients_masked(
    desktop: Any, phone: Any, live_server: Any, borrower_world: dict[str, Any]
) -> None:
    notice = borrower_world["notice"]
    page = desktop
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button.primary")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/notify/")
    row = page.locator("table.outbox tbody tr").first
    expect(row).to_contain_text(borrower_world["borrower"].phone_masked)
    expect(row).to_contain_text("CD0001")
    expect(row.locator(".status")).to_have_class(re.compile("message-sent"))
    page.screenshot(path=str(SHOTS / "12-outbox-desktop.png"), full_page=True)
    page.locator("table.outbox tbody tr a").first.click()
    expect(page.locator("h1")).to_contain_text(f"#{notice.pk}")
    page.screenshot(path=str(SHOTS / "13-message-desktop.png"), full_page=True)
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{live_server.url}/notify/")
    expect(phone.locator("table.outbox tbody tr").first).to_contain_text("CD0001")
    phone.screenshot(path=str(SHOTS / "14-outbox-phone.png"), full_page=True)
    assert not page.console_errors and not phone.console_errors
