"""The payments upload page and the API: managers only, the same import, row-level reports."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from doorstep.core.services import api_token_create
from doorstep.payments.models import Payment


def bearer(user) -> dict[str, str]:
    _token, raw = api_token_create(actor="system:test", user=user, name="test")
    return {"Authorization": f"Bearer {raw}"}


def run_worker() -> None:
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_a_manager_uploads_a_payments_file_and_follows_it_to_its_report(cast, settings, tmp_path) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.DOORSTEP_UPLOAD_DIR = tmp_path
    loan = cast.own_case.loans.get()
    client = Client()
    client.force_login(cast.manager)
    assert client.get(reverse("payments:imports")).status_code == 200
    upload = SimpleUploadedFile(
        "pay.csv", f"txn_id,loan_id,amount,paid_at,channel\nW1,{loan.loan_id},20.50,2026-01-05T09:00:00,counter\n".encode()
    )
    response = client.post(reverse("payments:imports"), {"file": upload})
    assert response.status_code == 302
    waiting = client.get(response["Location"], HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in waiting.content.decode()
    run_worker()
    done = client.get(response["Location"], HTTP_HX_REQUEST="true")
    assert done.status_code == 200 and "hx-trigger" not in done.content.decode()
    assert Payment.objects.filter(txn_id="W1").exists()
    bad = SimpleUploadedFile("bad.csv", b"txn_id,loan_id,amount,paid_at,channel\nW2,NOPE,1.00,2026-01-05T09:00:00,counter\n")
    location = client.post(reverse("payments:imports"), {"file": bad})["Location"]
    run_worker()
    report = client.get(location)
    assert "NOPE" in report.content.decode()


def test_only_importers_see_the_page(cast) -> None:
    for user in (cast.collector_user, cast.supervisor, cast.outsider):
        client = Client()
        client.force_login(user)
        assert client.get(reverse("payments:imports")).status_code == 403


def test_the_api_imports_rows_and_reports_bad_ones(cast) -> None:
    loan = cast.own_case.loans.get()
    client = Client()
    row = {"txn_id": "A1", "loan_id": loan.loan_id, "amount": "10.00", "paid_at": "2026-01-05T09:00:00+08:00",
           "channel": "alipay"}
    response = client.post("/api/payments", json.dumps({"payments": [row]}), content_type="application/json",
                           headers=bearer(cast.manager))
    assert response.status_code == 200 and response.json()["payments_added"] == 1
    again = client.post("/api/payments", json.dumps({"payments": [row]}), content_type="application/json",
                        headers=bearer(cast.manager))
    assert again.json()["already_imported"] is True
    bad = client.post("/api/payments", json.dumps({"payments": [{**row, "txn_id": "A2", "loan_id": "NOPE"}]}),
                      content_type="application/json", headers=bearer(cast.manager))
    assert bad.status_code == 422 and bad.json()["errors"][0]["column"] == "loan_id"
    refused = client.post("/api/payments", json.dumps({"payments": [row]}), content_type="application/json",
                          headers=bearer(cast.collector_user))
    assert refused.status_code == 403
    seen = client.get(f"/api/cases/{cast.own_case.pk}/payments", {"since": "2026-01-01"},
                      headers=bearer(cast.collector_user))
    assert seen.status_code == 200 and seen.json()[0]["amount"] == "10.00"
