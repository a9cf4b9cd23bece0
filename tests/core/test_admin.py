"""The admin site: personal data masked, the audit trail untouchable, staff edits audited."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from doorstep.core.models import AuditEvent
from tests import factories
from tests.conftest import Cast

FULL_ID = factories.valid_national_id(123, birth="19851204")


def admin_client() -> Client:
    User.objects.create_superuser("root", password="correct-horse-battery")
    client = Client()
    client.login(username="root", password="correct-horse-battery")
    return client


def test_a_borrower_page_shows_only_the_masked_id_and_phone(db: None) -> None:
    borrower = factories.make_borrower("周敏", national_id=FULL_ID, phone="13912345678")
    page = admin_client().get(f"/admin/portfolio/borrower/{borrower.pk}/change/").content.decode()
    assert borrower.national_id_masked in page and "139****5678" in page
    assert FULL_ID not in page and "13912345678" not in page
    assert borrower.national_id_encrypted not in page and borrower.national_id_hash not in page


def test_the_audit_trail_can_be_read_but_not_added_to_changed_or_deleted(cast: Cast) -> None:
    client = admin_client()
    event = AuditEvent.objects.create(actor_label="system", action="portfolio.case.cured")
    assert client.get("/admin/core/auditevent/").status_code == 200
    assert client.get("/admin/core/auditevent/add/").status_code == 403
    assert client.post(f"/admin/core/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_cases_and_assignments_are_read_only_in_the_admin(cast: Cast) -> None:
    client = admin_client()
    assert client.get(f"/admin/portfolio/case/{cast.own_case.pk}/change/").status_code == 200
    assert client.get("/admin/portfolio/case/add/").status_code == 403
    assert client.get("/admin/collectors/caseassignment/add/").status_code == 403


def test_changing_a_territory_in_the_admin_leaves_an_audit_entry(db: None) -> None:
    territory = factories.make_territory()
    client = admin_client()
    response = client.post(
        f"/admin/collectors/territory/{territory.pk}/change/",
        {
            "name": "锦江东片区",
            "branch_code": "CD0101",
            "centre_latitude": "30.657000",
            "centre_longitude": "104.081000",
            "radius_km": "6.50",
            "speed_kmh": "25.0",
            "polygon": "null",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    territory.refresh_from_db()
    assert territory.name == "锦江东片区"
    event = AuditEvent.objects.get(action="collectors.territory.changed_in_admin")
    assert event.actor.username == "root"  # type: ignore[union-attr]
    assert {"name", "radius_km"} <= set(event.data["fields"])
