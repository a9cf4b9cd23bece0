"""A complaint handler acknowledges, investigates and decides a borrower's complaint on the desktop, step by
step with the buttons of the complaint page; a team lead checks the queue on a phone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from doorstep.feedback.models import Complaint, ComplaintStatus
from doorstep.notify.models import Message
from tests.browser.conftest import log_in
from tests.conftest import Cast
from tests.feedback.factories import file_complaint, make_visit

SHOTS = Path(os.environ.get("DOORSTEP_SHOTS", "/tmp/shots/feedback"))
DECISION = "经调取执法记录仪录音核实，催收员确有不当言辞，已向您致歉并安排该催收员复训。"


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_handler_acknowledges_and_resolves_a_complaint(live_server: Any, live_cast: Cast, desktop: Any) -> None:
    cast = live_cast
    complaint = file_complaint(cast.own_case, visit=make_visit(cast.own_case, cast.collector))
    file_complaint(cast.colleagues_case, category="amount_disputed")
    log_in(desktop, live_server, cast.compliance.username)

    desktop.goto(f"{live_server.url}/feedback/")
    desktop.get_by_role("link", name=complaint.reference).wait_for()
    shoot(desktop, "queue-desktop")
    desktop.get_by_role("link", name=complaint.reference).click()
    desktop.wait_for_url(f"**/feedback/complaints/{complaint.pk}/")
    shoot(desktop, "complaint-received")
    desktop.click("#step-acknowledge")
    desktop.locator("#step-investigate").wait_for()
    assert "已受理" in desktop.locator("#complaint-main .status-badge").first.inner_text()
    desktop.click("#step-investigate")
    desktop.locator("#step-resolve").wait_for()

    desktop.get_by_label("投诉成立").check()
    desktop.get_by_label("发送给借款人的处理意见").fill(DECISION)
    desktop.click("#step-resolve")
    desktop.locator("#complaint-main .status-resolved").wait_for()
    shoot(desktop, "complaint-resolved")
    history = desktop.locator(".history").inner_text()
    for step in ("已接收", "已受理", "开始调查", "已办结", "催收员已列入复查"):
        assert step in history
    assert desktop.console_errors == []

    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.RESOLVED and complaint.handler == cast.compliance
    templates = list(Message.objects.filter(borrower=cast.own_case.borrower).order_by("pk").values_list("template", flat=True))
    assert templates == ["complaint_received", "complaint_acknowledged", "complaint_investigating",
                         "complaint_resolved"]

    desktop.goto(f"{live_server.url}/feedback/dashboard/")
    desktop.locator("svg.chart").first.wait_for()
    shoot(desktop, "dashboard-desktop")


def test_a_team_lead_checks_the_queue_on_a_phone(live_server: Any, live_cast: Cast, phone: Any) -> None:
    cast = live_cast
    own = file_complaint(cast.own_case)
    other = file_complaint(cast.other_team_case)
    log_in(phone, live_server, cast.supervisor.username)
    phone.goto(f"{live_server.url}/feedback/")
    phone.get_by_role("link", name=own.reference).wait_for()
    assert phone.get_by_role("link", name=other.reference).count() == 0
    shoot(phone, "queue-phone")
    phone.get_by_role("link", name=own.reference).click()
    phone.locator("#step-acknowledge").wait_for()
    shoot(phone, "complaint-phone")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    assert Complaint.objects.count() == 2
