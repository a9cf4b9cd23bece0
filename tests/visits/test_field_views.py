"""The field app's pages: a collector sees and acts on their own stops only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from doorstep.compliance.models import ContactEvent
from doorstep.visits.models import AlertKind, Visit, VisitAlert, VisitStatus
from tests.visits.field_factories import FieldCast, build_field_cast, daytime_zone, media  # noqa: F401

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture
def today(cast, media) -> FieldCast:  # noqa: F811
    """The field cast on today's date, with borrowers living where it is now working hours."""
    return build_field_cast(cast, timezone.localdate(), zone=daytime_zone())


def log_in(client, user) -> None:
    client.force_login(user)


def test_today_lists_the_collectors_stops_in_order_with_the_route(client, today: FieldCast) -> None:
    log_in(client, today.cast.collector_user)
    page = client.get(reverse("visits:field_today"))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("张伟") < html.index("王芳")
    assert "<svg" in html and "route-stop" in html
    assert today.strangers_visit.borrower.name not in html


def test_the_partner_sees_the_same_stops(client, today: FieldCast) -> None:
    log_in(client, today.cast.other_collector_user)
    html = client.get(reverse("visits:field_today")).content.decode()
    assert "张伟" in html and "王芳" in html


def test_another_day_without_a_plan_says_so(client, today: FieldCast) -> None:
    log_in(client, today.cast.collector_user)
    day = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    page = client.get(reverse("visits:field_today") + f"?day={day}")
    assert page.status_code == 200 and "张伟" not in page.content.decode()


def test_people_who_are_not_collectors_get_404(client, today: FieldCast) -> None:
    for user in (today.cast.outsider, today.cast.manager):
        log_in(client, user)
        assert client.get(reverse("visits:field_today")).status_code == 404
        assert client.get(reverse("visits:field_stop", args=[today.visit.pk])).status_code == 404


def test_the_brief_shows_the_balance_and_masks_personal_data(client, today: FieldCast) -> None:
    Visit.objects.filter(pk=today.visit.pk).update(script_code="")
    log_in(client, today.cast.collector_user)
    page = client.get(reverse("visits:field_stop", args=[today.visit.pk]))
    html = page.content.decode()
    borrower = today.visit.borrower
    assert page.status_code == 200
    assert "3,170.50" in html and "3,000.00" in html and "150.00" in html and "20.50" in html
    assert borrower.phone_masked in html and borrower.national_id_masked in html
    assert "四川省成都市锦江区红星路三段1号" in html
    assert 'name="confirm_id_shown"' in html


def test_risk_flags_lead_the_brief(client, today: FieldCast) -> None:
    borrower = today.visit.borrower
    borrower.is_vulnerable = True
    borrower.save(update_fields=["is_vulnerable"])
    log_in(client, today.cast.collector_user)
    html = client.get(reverse("visits:field_stop", args=[today.visit.pk])).content.decode()
    assert "risk-danger" in html


def test_another_collectors_stop_is_404_and_cannot_be_acted_on(client, today: FieldCast) -> None:
    log_in(client, today.cast.collector_user)
    stranger = today.strangers_visit.pk
    assert client.get(reverse("visits:field_stop", args=[stranger])).status_code == 404
    answer = client.post(
        reverse("visits:field_check_in", args=[stranger]),
        {"latitude": "30.657", "longitude": "104.081", "confirm_id_shown": "on", "confirm_recording": "on"},
    )
    assert answer.status_code == 404
    assert client.post(reverse("visits:field_check_out", args=[stranger])).status_code == 404
    assert client.get(reverse("visits:field_stop", args=[999_999])).status_code == 404
    assert Visit.objects.get(pk=stranger).status == VisitStatus.SCHEDULED
    assert not ContactEvent.objects.exists()


def test_a_visit_through_the_pages(client, today: FieldCast) -> None:
    log_in(client, today.cast.collector_user)
    visit = today.visit
    checked_in = client.post(
        reverse("visits:field_check_in", args=[visit.pk]),
        {"latitude": "30.657100", "longitude": "104.081000", "accuracy": "8",
         "confirm_id_shown": "on", "confirm_recording": "on"},
    )
    assert checked_in.status_code == 302, checked_in.content.decode()[:2000]
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.CHECKED_IN

    due = (timezone.localdate() + dt.timedelta(days=5)).isoformat()
    recorded = client.post(
        reverse("visits:field_record", args=[visit.pk]),
        {"person_met": "borrower", "attitude": "cooperative", "willingness": "high", "delinquency_reason": "forgot",
         "result": "promise", "promise_amount": "3170.50", "promise_due_on": due, "notes": "答应五天内还清。",
         "next_action": "none"},
    )
    assert recorded.status_code == 302
    stop = client.get(reverse("visits:field_stop", args=[visit.pk])).content.decode()
    assert 'action="{}"'.format(reverse("visits:field_check_out", args=[visit.pk])) in stop

    out = client.post(reverse("visits:field_check_out", args=[visit.pk]), {"latitude": "30.6571", "longitude": "104.081"})
    assert out.status_code == 302
    visit.refresh_from_db()
    assert (visit.status, visit.result) == (VisitStatus.COMPLETED, "promise")


def test_a_refused_check_in_shows_the_reasons(client, today: FieldCast) -> None:
    borrower = today.visit.borrower
    borrower.do_not_visit = True
    borrower.save(update_fields=["do_not_visit"])
    log_in(client, today.cast.collector_user)
    answer = client.post(
        reverse("visits:field_check_in", args=[today.visit.pk]),
        {"latitude": "30.657100", "longitude": "104.081000", "confirm_id_shown": "on", "confirm_recording": "on"},
    )
    assert answer.status_code == 409
    assert "refusal" in answer.content.decode()
    assert Visit.objects.get(pk=today.visit.pk).status == VisitStatus.SCHEDULED


def test_a_check_in_without_confirmations_or_position_is_sent_back(client, today: FieldCast) -> None:
    log_in(client, today.cast.collector_user)
    url = reverse("visits:field_check_in", args=[today.visit.pk])
    assert client.post(url, {"latitude": "30.6571", "longitude": "104.081"}).status_code == 400
    assert client.post(url, {"confirm_id_shown": "on", "confirm_recording": "on"}).status_code == 400
    assert not ContactEvent.objects.exists()


def test_the_sos_button_raises_an_alert(client, today: FieldCast) -> None:
    log_in(client, today.cast.collector_user)
    answer = client.post(
        reverse("visits:field_sos"), {"latitude": "30.6571", "longitude": "104.081", "visit": today.visit.pk}
    )
    assert answer.status_code == 302
    alert = VisitAlert.objects.get()
    assert (alert.kind, alert.visit_id) == (AlertKind.SOS, today.visit.pk)


def test_an_empty_day_points_to_the_next_planned_day(client, today: FieldCast) -> None:
    log_in(client, today.cast.collector_user)
    before = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    html = client.get(reverse("visits:field_today") + f"?day={before}").content.decode()
    assert f"?day={timezone.localdate().isoformat()}" in html


def test_the_brief_carries_the_strategy_script_with_the_borrowers_figures(client, today: FieldCast) -> None:
    Visit.objects.filter(pk=today.visit.pk).update(script_code="visit_first")
    log_in(client, today.cast.collector_user)
    html = client.get(reverse("visits:field_stop", args=[today.visit.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "首次上门拜访" in html
    assert "{borrower_name}" not in html and "{days_past_due}" not in html and "{overdue_amount}" not in html
    assert "逾期45天" in html.replace(" ", "") or "45" in html


def test_the_planners_purpose_is_shown_in_the_readers_language(client, today: FieldCast) -> None:
    from doorstep.visits.services import VISIT_PURPOSE

    Visit.objects.filter(pk=today.visit.pk).update(purpose=VISIT_PURPOSE)
    log_in(client, today.cast.collector_user)
    url = reverse("visits:field_stop", args=[today.visit.pk])
    assert "沟通逾期欠款并商定还款方式" in client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert VISIT_PURPOSE in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_script_placeholders_are_filled_and_unknown_ones_kept() -> None:
    from doorstep.visits.field_selectors import script_fill

    text = "请问是{borrower_name}本人吗？逾期{days_past_due}天，{unknown}"
    assert script_fill(text, {"borrower_name": "张伟", "days_past_due": "45"}) == "请问是张伟本人吗？逾期45天，{unknown}"


def test_attachments_are_uploaded_and_served_to_the_crew_only(client, today: FieldCast) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from doorstep.visits.models import VisitAttachment

    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 600
    log_in(client, today.cast.collector_user)
    client.post(
        reverse("visits:field_check_in", args=[today.visit.pk]),
        {"latitude": "30.657100", "longitude": "104.081000", "confirm_id_shown": "on", "confirm_recording": "on"},
    )
    answer = client.post(
        reverse("visits:field_attachment_add", args=[today.visit.pk]), {"file": SimpleUploadedFile("门口.jpg", jpeg)}
    )
    assert answer.status_code == 302
    attachment = VisitAttachment.objects.get()
    served = client.get(reverse("visits:field_attachment", args=[attachment.pk]))
    assert served.status_code == 200 and b"".join(served.streaming_content) == jpeg
    assert served["Content-Type"] == "image/jpeg"

    log_in(client, today.stranger_user)
    assert client.get(reverse("visits:field_attachment", args=[attachment.pk])).status_code == 404
