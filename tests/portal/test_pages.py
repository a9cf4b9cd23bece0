"""What 张伟 does once signed in: reads what he owes and how to pay, answers the coming visit, checks the
badge of the man at the door, asks for a plan, rates the last visit and complains."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from doorstep.arrangements.models import PlanRequest
from doorstep.collectors.models import Certificate
from doorstep.compliance.services import caches_clear
from doorstep.core.models import AuditEvent
from doorstep.feedback.models import Complaint, ComplaintStatus, VisitRating
from doorstep.feedback.services import complaint_acknowledge
from doorstep.visits.models import BorrowerResponse, Visit, VisitStatus
from tests.portal.conftest import ZHANG_ID, form_token, visitor_for

SHANGHAI = ZoneInfo("Asia/Shanghai")


def next_weekday(days_ahead: int = 2) -> dt.date:
    day = timezone.localdate(timezone.now(), SHANGHAI) + dt.timedelta(days=days_ahead)
    while day.isoweekday() > 5:
        day += dt.timedelta(days=1)
    return day


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def field_pair(cast):  # type: ignore[no-untyped-def]
    caches_clear()
    for collector in (cast.collector, cast.other_collector):
        for kind in ("pre_job", "annual"):
            Certificate.objects.create(collector=collector, kind=kind, issued_on=dt.date(2026, 1, 5),
                                       expires_on=dt.date(2030, 12, 31))
    return cast


@pytest.fixture
def coming_visit(field_pair, zhang) -> Visit:  # type: ignore[no-untyped-def]
    day = next_weekday()
    return Visit.objects.create(
        case=field_pair.own_case, borrower=zhang, purpose="上门沟通逾期还款事宜", window_start=at(day, 10),
        window_end=at(day, 12), collector=field_pair.collector, partner=field_pair.other_collector,
        created_by_label="test",
    )


@pytest.fixture
def past_visit(field_pair, zhang) -> Visit:  # type: ignore[no-untyped-def]
    start = timezone.now() - dt.timedelta(days=3)
    return Visit.objects.create(
        case=field_pair.own_case, borrower=zhang, purpose="上门沟通", window_start=start,
        window_end=start + dt.timedelta(hours=2), collector=field_pair.collector, created_by_label="test",
        status=VisitStatus.COMPLETED,
    )


@pytest.fixture
def portal(zhang, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    visitor = visitor_for(zhang, purpose="visit")
    visitor.sign_in(zhang, ZHANG_ID[-4:], django_capture_on_commit_callbacks)
    return visitor


def test_the_overview_says_what_is_owed_and_why_as_of_the_snapshot(portal, zhang, cast) -> None:
    text = portal.client.get("/portal/").content.decode()
    for figure in ("¥3,170.50", "¥3,000.00", "¥150.00", "¥20.50"):
        assert figure in text
    assert cast.own_case.snapshot_date.strftime("%Y-%m-%d") in text
    loan = cast.own_case.loans.get()
    assert loan.loan_id not in text and loan.loan_id[-4:] in text
    assert "催收员绝不收取现金" in text


def test_the_payment_page_lists_only_official_ways(portal, settings) -> None:
    settings.DOORSTEP_PORTAL_PAYMENT_WAYS = [("邮储银行App", "贷款 → 还款"), ("任一网点", "柜台办理")]
    text = portal.client.get("/portal/pay/").content.decode()
    assert "邮储银行App" in text and "柜台办理" in text and "绝不会要求您向个人账户转账" in text


def test_confirming_the_visit(portal, coming_visit, zhang) -> None:
    page = portal.client.get("/portal/visits/").content.decode()
    assert "CD0001" in page and "CD0002" in page and "赵催收" in page
    response = portal.post("/portal/visits/", {"visit": coming_visit.pk, "action": "confirm"})
    assert response.status_code == 302 and response["Location"] == "/portal/visits/?done=confirmed"
    coming_visit.refresh_from_db()
    assert coming_visit.response == BorrowerResponse.CONFIRMED and coming_visit.response_channel == "portal"
    assert AuditEvent.objects.filter(action="visits.visit.answered", actor_label=f"borrower:{zhang.pk}").exists()


def test_declining_needs_a_reason(portal, coming_visit) -> None:
    response = portal.post("/portal/visits/", {"visit": coming_visit.pk, "action": "decline",
                                               f"decline-{coming_visit.pk}-reason": ""})
    assert response.status_code == 200
    coming_visit.refresh_from_db()
    assert coming_visit.response == BorrowerResponse.PENDING
    response = portal.post("/portal/visits/", {"visit": coming_visit.pk, "action": "decline",
                                               f"decline-{coming_visit.pk}-reason": "那天在外地出差"})
    assert response.status_code == 302
    coming_visit.refresh_from_db()
    assert coming_visit.response == BorrowerResponse.DECLINED and coming_visit.response_note == "那天在外地出差"


def test_moving_the_visit_to_an_offered_slot(portal, coming_visit) -> None:
    page = portal.client.get("/portal/visits/").content.decode()
    field = f'name="move-{coming_visit.pk}-slot" value="'
    assert field in page, "no slot offered"
    offered = page.split(field)[1].split('"')[0]
    response = portal.post("/portal/visits/", {"visit": coming_visit.pk, "action": "move",
                                               f"move-{coming_visit.pk}-slot": offered})
    assert response.status_code == 302 and response["Location"].endswith("done=moved")
    coming_visit.refresh_from_db()
    assert coming_visit.status == VisitStatus.CANCELLED and coming_visit.response == BorrowerResponse.RESCHEDULED
    moved = Visit.objects.get(rescheduled_from=coming_visit)
    assert moved.window_start == dt.datetime.fromisoformat(offered)


def test_a_slot_that_was_not_offered_is_refused(portal, coming_visit) -> None:
    response = portal.post("/portal/visits/", {"visit": coming_visit.pk, "action": "move",
                                               f"move-{coming_visit.pk}-slot": at(next_weekday(), 23).isoformat()})
    assert response.status_code == 200
    coming_visit.refresh_from_db()
    assert coming_visit.status == VisitStatus.SCHEDULED


def test_checking_a_badge_that_is_sent_to_me(portal, coming_visit, cast) -> None:
    page = portal.client.get("/portal/badge/").content.decode()
    portal.token = form_token(page)
    text = portal.post("/portal/badge/", {"badge_number": "CD0001"}).content.decode()
    assert "赵催收" in text and "锦江一组" in text
    # Sent to me, yes; whether on duty depends on the hour the test runs.
    assert '派来拜访您</dt><dd><span class="verdict verdict-allowed">' in text


def test_an_unknown_badge_and_the_one_tap_report(portal, zhang) -> None:
    text = portal.post("/portal/badge/", {"badge_number": "FAKE999"}).content.decode()
    assert "未找到该工牌" in text and "badge-warn" in text
    response = portal.post("/portal/badge/report/", {"badge_number": "FAKE999"})
    assert response.status_code == 302 and "filed=" in response["Location"]
    complaint = Complaint.objects.get()
    assert complaint.borrower == zhang and complaint.channel == "portal" and "FAKE999" in complaint.text
    assert complaint.filed_by_label == f"borrower:{zhang.pk}"


def test_reporting_a_collector_not_sent_to_me(portal, zhang, cast) -> None:
    portal.post("/portal/badge/report/", {"badge_number": "CD0002"})
    complaint = Complaint.objects.get()
    assert complaint.collector == cast.other_collector and "钱催收" in complaint.text


def test_asking_for_a_plan(portal, cast) -> None:
    assert "申请还款方案" in portal.client.get("/portal/plan/").content.decode()
    response = portal.post("/portal/plan/", {"monthly_income": "6000", "monthly_expenses": "3500",
                                             "dependants": "1", "proposed_monthly": "", "note": "希望分期"})
    assert response.status_code == 302
    request = PlanRequest.objects.get()
    assert request.case == cast.own_case and request.source == "portal" and request.note == "希望分期"
    page = portal.client.get("/portal/plan/?done=requested").content.decode()
    assert "您的申请已记录" in page


def test_a_bad_plan_form_changes_nothing(portal) -> None:
    response = portal.post("/portal/plan/", {"monthly_income": "-1", "monthly_expenses": "x", "dependants": "1"})
    assert response.status_code == 200 and not PlanRequest.objects.exists()


def test_rating_a_visit_once(portal, past_visit) -> None:
    page = portal.client.get("/portal/visits/").content.decode()
    assert f"/portal/visits/{past_visit.pk}/rate/" in page
    response = portal.post(f"/portal/visits/{past_visit.pk}/rate/", {"stars": "4", "comment": "态度很好"})
    assert response.status_code == 302
    rating = VisitRating.objects.get()
    assert rating.stars == 4 and rating.comment == "态度很好" and rating.source == "portal"
    again = portal.post(f"/portal/visits/{past_visit.pk}/rate/", {"stars": "1"})
    assert again.status_code == 200 and VisitRating.objects.get().stars == 4


def test_filing_a_complaint_with_a_photo_and_following_it(portal, past_visit, cast, zhang) -> None:
    photo = SimpleUploadedFile("door.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, content_type="image/png")
    response = portal.post(
        "/portal/complaints/",
        {"category": "threat_insult", "visit": str(past_visit.pk), "text": "催收员说话很难听", "attachments": photo},
    )
    assert response.status_code == 302, response.content[:500]
    complaint = Complaint.objects.get()
    assert complaint.visit == past_visit and complaint.collector == cast.collector
    assert complaint.attachments.count() == 1
    page = portal.client.get(response["Location"]).content.decode()
    assert complaint.reference in page and "complaint-received" in page
    complaint_acknowledge(actor=cast.manager, complaint_id=complaint.pk, note="已受理")
    page = portal.client.get("/portal/complaints/").content.decode()
    assert "complaint-acknowledged" in page and ComplaintStatus.ACKNOWLEDGED == "acknowledged"


def test_a_complaint_about_someone_elses_visit_is_not_possible(portal, cast) -> None:
    other = Visit.objects.create(
        case=cast.colleagues_case, borrower=cast.colleagues_case.borrower, purpose="x",
        window_start=timezone.now() - dt.timedelta(days=2), window_end=timezone.now() - dt.timedelta(days=2, hours=-1),
        collector=cast.other_collector, created_by_label="test", status=VisitStatus.COMPLETED,
    )
    response = portal.post("/portal/complaints/", {"category": "other", "visit": str(other.pk), "text": "x"})
    assert response.status_code == 200 and not Complaint.objects.exists()


def test_the_pages_work_in_english(portal) -> None:
    portal.client.get("/portal/language/en/?next=/portal/")
    text = portal.client.get("/portal/").content.decode()
    assert "What you owe" in text and "Collectors never take cash." in text and 'lang="en"' in text
