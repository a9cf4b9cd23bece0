"""The staff pages: who sees which complaints, the steps as buttons, logging a phone complaint, the dashboard."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from doorstep.feedback import services
from doorstep.feedback.models import Complaint, ComplaintStatus
from tests import factories
from tests.conftest import Cast
from tests.feedback.factories import file_complaint, make_visit


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def complaints(cast: Cast) -> dict[str, Complaint]:
    other_team_collector = factories.make_collector(
        factories.make_user("far", factories.Role.COLLECTOR), cast.other_team_case.assignments.get().team, "CD0099"
    )
    return {
        "own": file_complaint(cast.own_case, visit=make_visit(cast.own_case, cast.collector)),
        "other_team": file_complaint(
            cast.other_team_case, visit=make_visit(cast.other_team_case, other_team_collector)
        ),
    }


def test_a_team_lead_sees_only_complaints_about_their_team(cast: Cast, complaints: dict[str, Complaint]) -> None:
    client = client_for(cast.supervisor)
    page = client.get(reverse("feedback:queue"))
    assert page.status_code == 200
    assert complaints["own"].reference in page.text
    assert complaints["other_team"].reference not in page.text
    assert client.get(reverse("feedback:complaint_detail", args=[complaints["own"].pk])).status_code == 200
    assert client.get(reverse("feedback:complaint_detail", args=[complaints["other_team"].pk])).status_code == 404
    step = reverse("feedback:complaint_step", args=[complaints["other_team"].pk, "acknowledge"])
    assert client.post(step).status_code == 404
    complaints["other_team"].refresh_from_db()
    assert complaints["other_team"].status == ComplaintStatus.RECEIVED
    dashboard = client.get(reverse("feedback:dashboard"))
    assert dashboard.status_code == 200 and complaints["other_team"].reference not in dashboard.text


def test_compliance_sees_every_complaint(cast: Cast, complaints: dict[str, Complaint]) -> None:
    page = client_for(cast.compliance).get(reverse("feedback:queue"))
    assert complaints["own"].reference in page.text and complaints["other_team"].reference in page.text


@pytest.mark.parametrize("who", ["collector_user", "outsider"])
def test_collectors_and_outsiders_see_no_complaints(cast: Cast, complaints: dict[str, Complaint], who: str) -> None:
    client = client_for(getattr(cast, who))
    assert client.get(reverse("feedback:queue")).status_code == 403
    assert client.get(reverse("feedback:complaint_detail", args=[complaints["own"].pk])).status_code == 404
    assert client.get(reverse("feedback:dashboard")).status_code == 403


def test_the_steps_are_buttons_that_answer_with_the_updated_panel(cast: Cast, complaints: dict[str, Complaint]) -> None:
    client = client_for(cast.compliance)
    complaint = complaints["own"]
    detail = client.get(reverse("feedback:complaint_detail", args=[complaint.pk]))
    assert 'id="step-acknowledge"' in detail.text and 'id="step-resolve"' not in detail.text
    answer = client.post(reverse("feedback:complaint_step", args=[complaint.pk, "acknowledge"]), HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    assert 'id="step-investigate"' in answer.text and "<html" not in answer.text
    client.post(reverse("feedback:complaint_step", args=[complaint.pk, "investigate"]), HTTP_HX_REQUEST="true")
    short = client.post(reverse("feedback:complaint_step", args=[complaint.pk, "resolve"]),
                        {"outcome": "upheld", "resolution": "短"}, HTTP_HX_REQUEST="true")
    assert short.status_code == 200 and 'class="error"' in short.text
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.INVESTIGATING
    done = client.post(reverse("feedback:complaint_step", args=[complaint.pk, "resolve"]),
                       {"outcome": "upheld", "resolution": "经核实情况属实，已对催收员批评教育。"})
    assert done.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.RESOLVED and complaint.handler == cast.compliance


def test_staff_log_a_complaint_received_by_phone(cast: Cast) -> None:
    client = client_for(cast.supervisor)
    page = client.get(reverse("feedback:complaint_log") + f"?case={cast.own_case.pk}")
    assert page.status_code == 200
    answer = client.post(reverse("feedback:complaint_log"), {
        "case": cast.own_case.pk, "channel": "phone", "received_at": "2026-11-20T10:00", "category": "improper_time",
        "text": "晚上十点还有人上门敲门。",
    })
    complaint = Complaint.objects.get()
    assert answer.status_code == 302 and answer["Location"] == reverse("feedback:complaint_detail", args=[complaint.pk])
    assert complaint.channel == "phone" and complaint.filed_by_label == "lead"


def test_a_team_lead_cannot_log_a_complaint_on_another_teams_case(cast: Cast) -> None:
    answer = client_for(cast.supervisor).post(reverse("feedback:complaint_log"), {
        "case": cast.other_team_case.pk, "channel": "phone", "received_at": "2026-11-20T10:00",
        "category": "other", "text": "投诉",
    })
    assert answer.status_code == 422 and not Complaint.objects.exists()


def test_the_dashboard_shows_ratings_and_complaints_with_charts(cast: Cast, complaints: dict[str, Complaint]) -> None:
    visit = make_visit(cast.own_case, cast.collector, start="2026-11-21T10:00")
    services.rating_record(actor="borrower:1", visit=visit, stars=2, comment="迟到")
    page = client_for(cast.manager).get(reverse("feedback:dashboard"), {"since": "2026-09-01", "until": "2026-12-31"})
    assert page.status_code == 200
    assert page.text.count("<svg") == 3
    assert "CD0001" in page.text


def test_a_visit_page_links_its_rating_and_complaints(cast: Cast, complaints: dict[str, Complaint]) -> None:
    visit = complaints["own"].visit
    services.rating_record(actor="borrower:1", visit=visit, stars=1)
    page = client_for(cast.supervisor).get(reverse("feedback:visit", args=[visit.pk]))
    assert page.status_code == 200 and complaints["own"].reference in page.text and "1/5" in page.text
    other = complaints["other_team"].visit
    assert client_for(cast.supervisor).get(reverse("feedback:visit", args=[other.pk])).status_code == 404


def test_attachments_download_only_for_those_who_may_see_the_complaint(cast: Cast) -> None:
    from tests.feedback.factories import photo

    complaint = services.complaint_file(actor="borrower:1", borrower=cast.other_team_case.borrower, category="other",
                                        text="见照片", channel="portal", case=cast.other_team_case, attachments=[photo()])
    attachment = complaint.attachments.get()
    url = reverse("feedback:attachment_download", args=[complaint.pk, attachment.pk])
    answer = client_for(cast.compliance).get(url)
    assert answer.status_code == 200 and b"".join(answer.streaming_content) == b"\xff\xd8\xff\xe0 a photo"
    assert client_for(cast.supervisor).get(url).status_code == 404
