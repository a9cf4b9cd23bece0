"""The JSON API: the same scoping and the same services as the pages."""

from __future__ import annotations

from django.test import Client

from doorstep.feedback.models import Complaint, ComplaintStatus
from tests.conftest import Cast
from tests.feedback.factories import file_complaint, make_visit


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_a_handler_works_a_complaint_through_the_api(cast: Cast) -> None:
    complaint = file_complaint(cast.own_case, visit=make_visit(cast.own_case, cast.collector))
    client = client_for(cast.compliance)
    listing = client.get("/api/complaints").json()
    assert listing["count"] == 1 and listing["items"][0]["reference"] == complaint.reference
    assert client.post(f"/api/complaints/{complaint.pk}/acknowledge", {}, content_type="application/json").status_code == 200
    wrong = client.post(f"/api/complaints/{complaint.pk}/resolve", {"outcome": "upheld", "resolution": "核实属实，已致歉。"},
                        content_type="application/json")
    assert wrong.status_code == 422
    client.post(f"/api/complaints/{complaint.pk}/investigate", {}, content_type="application/json")
    done = client.post(f"/api/complaints/{complaint.pk}/resolve",
                       {"outcome": "upheld", "resolution": "经核实情况属实，已向借款人致歉。"}, content_type="application/json")
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == ComplaintStatus.RESOLVED and [e["kind"] for e in body["events"]][:4] == [
        "filed", "acknowledged", "investigating", "resolved"]
    feedback = client.get(f"/api/visits/{complaint.visit_id}/feedback").json()
    assert feedback["complaints"][0]["id"] == complaint.pk and feedback["rating"] is None


def test_a_team_lead_gets_404_for_another_teams_complaint(cast: Cast) -> None:
    complaint = file_complaint(cast.other_team_case)
    client = client_for(cast.supervisor)
    assert client.get(f"/api/complaints/{complaint.pk}").status_code == 404
    assert client.post(f"/api/complaints/{complaint.pk}/acknowledge", {}, content_type="application/json").status_code == 404
    assert client.get("/api/complaints").json()["count"] == 0


def test_staff_log_a_letter_through_the_api(cast: Cast) -> None:
    answer = client_for(cast.compliance).post(
        "/api/complaints",
        {"case_id": cast.own_case.pk, "category": "amount_disputed", "channel": "letter", "text": "来信称金额有误。"},
        content_type="application/json",
    )
    assert answer.status_code == 201
    assert Complaint.objects.get().is_dispute
    assert client_for(cast.collector_user).post(
        "/api/complaints", {"case_id": cast.own_case.pk, "category": "other", "channel": "phone", "text": "x"},
        content_type="application/json",
    ).status_code == 403
