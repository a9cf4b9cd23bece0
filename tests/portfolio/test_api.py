"""The JSON API tells each caller exactly what the staff pages would: no more, and never as floats."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from doorstep.core.models import AuditEvent
from doorstep.core.services import api_token_create
from doorstep.portfolio.models import CaseStatus, SnapshotImport
from tests import factories
from tests.conftest import Cast


def bearer(user: Any) -> dict[str, str]:
    _token, raw = api_token_create(actor="system:test", user=user, name="test feed")
    return {"Authorization": f"Bearer {raw}"}


def get(user: Any, url: str, **params: Any) -> Any:
    return Client().get(url, params, headers=bearer(user))


def post_json(user: Any, url: str, body: dict[str, Any]) -> Any:
    return Client().post(url, json.dumps(body), content_type="application/json", headers=bearer(user))


# --- listing ----------------------------------------------------------------------------------------------


def test_a_manager_lists_every_case_with_money_as_exact_strings(cast: Cast) -> None:
    response = get(cast.manager, "/api/cases")
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 3
    assert {item["id"] for item in page["items"]} == {
        cast.own_case.pk,
        cast.colleagues_case.pk,
        cast.other_team_case.pk,
    }
    first = next(item for item in page["items"] if item["id"] == cast.own_case.pk)
    assert first["overdue_total"] == "3170.50"
    assert first["outstanding_principal"] == "20000.00"
    assert first["assignment"]["collector_badge"] == "CD0001"
    assert '"overdue_total": "3170.50"' in response.content.decode() or '"overdue_total":"3170.50"' in (
        response.content.decode()
    )


def test_a_collector_lists_only_their_own_cases(cast: Cast) -> None:
    page = get(cast.collector_user, "/api/cases").json()
    assert page["total"] == 1
    assert [item["id"] for item in page["items"]] == [cast.own_case.pk]


def test_an_outsider_lists_nothing(cast: Cast) -> None:
    page = get(cast.outsider, "/api/cases").json()
    assert page == {"total": 0, "limit": 50, "offset": 0, "items": []}


def test_filters_narrow_the_list(cast: Cast) -> None:
    late = factories.make_case(factories.make_borrower("孙丽"), days_past_due=120, branch_code="CD009")
    cast.own_case.status = CaseStatus.ARRANGEMENT
    cast.own_case.save(update_fields=["status"])

    def ids(**params: Any) -> set[int]:
        return {item["id"] for item in get(cast.manager, "/api/cases", **params).json()["items"]}

    assert ids(bucket="M4+") == {late.pk}
    assert ids(dpd_min=100) == {late.pk}
    assert ids(dpd_max=60) == {cast.own_case.pk, cast.colleagues_case.pk, cast.other_team_case.pk}
    assert ids(branch="CD002") == {cast.other_team_case.pk}
    assert ids(status="arrangement") == {cast.own_case.pk}
    assert ids(collector="CD0002") == {cast.colleagues_case.pk}
    assert ids(collector="NO-SUCH-BADGE") == set()


def test_sort_and_pagination_walk_the_whole_list_once(cast: Cast) -> None:
    for days in (10, 70, 100):
        factories.make_case(days_past_due=days)
    seen: list[int] = []
    totals = set()
    for offset in (0, 2, 4):
        page = get(cast.manager, "/api/cases", sort="-dpd", limit=2, offset=offset).json()
        totals.add(page["total"])
        seen += [item["days_past_due"] for item in page["items"]]
    assert totals == {6}
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == 6


@pytest.mark.parametrize(
    "params",
    [
        {"bucket": "M9"},
        {"dpd_min": 50, "dpd_max": 10},
        {"dpd_min": -1},
        {"limit": 1000},
        {"limit": 0},
        {"offset": -5},
        {"sort": "borrower__national_id_encrypted"},
        {"status": "vanished"},
    ],
)
def test_bad_filters_are_refused_with_422(cast: Cast, params: dict[str, Any]) -> None:
    response = get(cast.manager, "/api/cases", **params)
    assert response.status_code == 422
    assert response.json()["detail"]


# --- one case ---------------------------------------------------------------------------------------------


def test_a_case_shows_masked_personal_data_its_loans_and_assignment(cast: Cast) -> None:
    response = get(cast.collector_user, f"/api/cases/{cast.own_case.pk}")
    assert response.status_code == 200
    case = response.json()
    borrower = cast.own_case.borrower
    assert case["borrower"]["national_id_masked"] == borrower.national_id_masked
    assert "*" in case["borrower"]["national_id_masked"]
    assert case["borrower"]["phone_masked"] == borrower.phone_masked
    assert case["overdue_total"] == "3170.50"
    [loan] = case["loans"]
    assert loan["overdue_amount"] == "3170.50"
    assert Decimal(loan["overdue_principal"]) + Decimal(loan["overdue_interest"]) + Decimal(
        loan["penalty_interest"]
    ) == Decimal(case["overdue_total"])
    assert case["assignment"] == {
        "team": cast.team.name,
        "collector_badge": "CD0001",
        "collector_name": "赵催收",
        "assigned_at": case["assignment"]["assigned_at"],
    }
    body = response.content.decode()
    for secret in ("national_id_encrypted", "phone_encrypted", "_hash"):
        assert secret not in body


def test_someone_elses_case_answers_exactly_like_a_missing_one(cast: Cast) -> None:
    hidden = get(cast.collector_user, f"/api/cases/{cast.colleagues_case.pk}")
    missing = get(cast.collector_user, "/api/cases/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_anonymous_callers_get_401(cast: Cast) -> None:
    assert Client().get("/api/cases").status_code == 401
    assert Client().get(f"/api/cases/{cast.own_case.pk}").status_code == 401
    response = Client().get("/api/cases", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401


# --- reveal -----------------------------------------------------------------------------------------------


def test_a_collector_reveals_their_borrowers_phone_and_it_is_audited(cast: Cast) -> None:
    borrower = cast.own_case.borrower
    response = post_json(cast.collector_user, f"/api/cases/{cast.own_case.pk}/reveal", {"field": "phone"})
    assert response.status_code == 200
    value = response.json()["value"]
    assert len(value) == 11 and value.startswith("138") and value.endswith(borrower.phone_masked[-4:])
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="portfolio.borrower.revealed_phone")
    assert event.actor == cast.collector_user
    assert event.object_id == str(borrower.pk)


def test_revealing_someone_elses_borrower_is_404_and_leaves_no_reveal(cast: Cast) -> None:
    url = f"/api/cases/{cast.colleagues_case.pk}/reveal"
    response = post_json(cast.collector_user, url, {"field": "national_id"})
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action__startswith="portfolio.borrower.revealed").exists()


def test_reveal_needs_the_permission(cast: Cast) -> None:
    url = f"/api/cases/{cast.own_case.pk}/reveal"
    assert post_json(cast.compliance, url, {"field": "phone"}).status_code == 403
    assert post_json(cast.outsider, url, {"field": "phone"}).status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="portfolio.borrower.revealed").exists()


def test_reveal_of_an_unknown_field_is_422(cast: Cast) -> None:
    response = post_json(cast.manager, f"/api/cases/{cast.own_case.pk}/reveal", {"field": "address"})
    assert response.status_code == 422


def test_reveal_over_the_session_needs_the_csrf_token(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.collector_user)
    url = f"/api/cases/{cast.own_case.pk}/reveal"
    refused = client.post(url, json.dumps({"field": "phone"}), content_type="application/json")
    assert refused.status_code == 403
    client.get("/api/docs")  # the docs page hands out the CSRF cookie for its "try it out" calls
    token = client.cookies["csrftoken"].value
    allowed = client.post(
        url, json.dumps({"field": "phone"}), content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert allowed.status_code == 200


def test_a_bearer_token_needs_no_csrf_token(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    url = f"/api/cases/{cast.own_case.pk}/reveal"
    response = client.post(
        url,
        json.dumps({"field": "phone"}),
        content_type="application/json",
        headers=bearer(cast.collector_user),
    )
    assert response.status_code == 200


# --- snapshots --------------------------------------------------------------------------------------------

SNAPSHOT_HEADER = (
    "snapshot_date,loan_id,customer_id,name,national_id,phone,address,branch_code,product_code,principal,"
    "outstanding_principal,overdue_principal,overdue_interest,penalty_interest,first_unpaid_due_date\n"
)


def snapshot_csv() -> bytes:
    national_id = factories.valid_national_id(77)
    row = (
        f"2026-11-27,LAPI000001,CAPI0001,周芳,{national_id},13900001111,四川省成都市武侯区一环路1号,CD001,"
        "CONSUMER,30000.00,20000.00,3000.00,150.00,20.50,2026-10-13\n"
    )
    return (SNAPSHOT_HEADER + row).encode()


@pytest.fixture
def uploads(settings: Any, tmp_path: Path) -> Path:
    settings.DOORSTEP_UPLOAD_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    return tmp_path


def upload(user: Any, content: bytes, name: str = "snapshot.csv", **fields: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **fields}
    return Client().post("/api/snapshots", data, headers=bearer(user))


def test_a_collector_may_not_upload_a_snapshot(cast: Cast, uploads: Path) -> None:
    response = upload(cast.collector_user, snapshot_csv())
    assert response.status_code == 403
    assert list(uploads.iterdir()) == []
    assert not AuditEvent.objects.filter(action="portfolio.snapshot.queued").exists()


def test_a_file_of_the_wrong_kind_is_refused_and_nothing_is_kept(cast: Cast, uploads: Path) -> None:
    response = upload(cast.manager, b"MZ\x90\x00", name="payload.exe")
    assert response.status_code == 422
    assert "csv" in json.dumps(response.json())
    assert list(uploads.iterdir()) == []


def test_a_bad_encoding_choice_is_422(cast: Cast, uploads: Path) -> None:
    response = upload(cast.manager, snapshot_csv(), encoding="latin-1")
    assert response.status_code == 422
    assert list(uploads.iterdir()) == []


# The worker commits as it goes, as in production, so this test does not run inside one transaction.
@pytest.mark.django_db(transaction=True)
def test_a_manager_uploads_a_snapshot_and_follows_its_import(cast: Cast, uploads: Path) -> None:
    response = upload(cast.manager, snapshot_csv(), snapshot_date="2026-11-27", encoding="utf-8")
    assert response.status_code == 202
    task_id = response.json()["task_id"]
    [stored] = list(uploads.iterdir())
    assert stored.suffix == ".csv" and stored.name != "snapshot.csv"
    assert stored.read_bytes() == snapshot_csv()
    event = AuditEvent.objects.get(action="portfolio.snapshot.queued")
    assert event.actor == cast.manager
    assert event.data["task_id"] == task_id and event.data["file_name"] == "snapshot.csv"

    waiting = get(cast.manager, f"/api/snapshots/tasks/{task_id}").json()
    assert waiting["status"] == "READY" and waiting["result"] is None

    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)

    done = get(cast.manager, f"/api/snapshots/tasks/{task_id}").json()
    assert done["status"] == "SUCCESSFUL", done
    assert "errors" not in done["result"], done["result"]
    imports = get(cast.manager, "/api/snapshots").json()
    assert imports["total"] == SnapshotImport.objects.count() >= 1
    assert imports["items"][0]["snapshot_date"] == "2026-11-27"


# The worker commits as it goes, as in production, so this test does not run inside one transaction.
@pytest.mark.django_db(transaction=True)
def test_a_bad_snapshot_reports_its_errors_through_the_task(cast: Cast, uploads: Path) -> None:
    bad_id = "110101199003071230"  # the check character should be 4
    national_id = factories.valid_national_id(77)
    bad = snapshot_csv().replace(b"3000.00", b'"3,000.0.0"').replace(national_id.encode(), bad_id.encode())
    task_id = upload(cast.manager, bad).json()["task_id"]
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    done = get(cast.manager, f"/api/snapshots/tasks/{task_id}").json()
    assert done["status"] == "SUCCESSFUL"
    report = done["result"]
    assert report.get("total", report.get("total_errors", 0)) >= 1
    assert {"line", "column", "value", "reason"} <= set(done["result"]["errors"][0])
    columns = {error["column"]: error["value"] for error in report["errors"]}
    assert columns["overdue_principal"] == "3,000.0.0", report
    assert columns["national_id"] == "110101********1230"
    assert bad_id not in json.dumps(done)
    assert not SnapshotImport.objects.exists()


def test_an_import_task_is_visible_only_to_whoever_sent_the_file(cast: Cast, uploads: Path) -> None:
    task_id = upload(cast.manager, snapshot_csv()).json()["task_id"]
    other_manager = factories.make_user("manager2", factories.Role.MANAGER)
    assert get(other_manager, f"/api/snapshots/tasks/{task_id}").status_code == 404
    assert get(cast.manager, "/api/snapshots/tasks/not-a-task").status_code == 404
    assert get(cast.collector_user, f"/api/snapshots/tasks/{task_id}").status_code == 403


def test_past_imports_need_the_import_permission(cast: Cast) -> None:
    assert get(cast.collector_user, "/api/snapshots").status_code == 403
    assert get(cast.manager, "/api/snapshots").json() == {"total": 0, "limit": 50, "offset": 0, "items": []}


# --- docs -------------------------------------------------------------------------------------------------


def test_the_schema_describes_money_as_strings(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.collector_user)
    schema = client.get("/api/openapi.json").json()
    assert "/api/cases" in schema["paths"]
    amounts = schema["components"]["schemas"]["CaseSummaryOut"]["properties"]["overdue_total"]
    assert amounts["type"] == "string"


def test_the_list_costs_the_same_few_queries_however_long_the_page(
    cast: Cast, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    headers = bearer(cast.manager)
    client = Client()
    client.get("/api/cases", headers=headers)  # warm up: roles, permissions, token use
    for _ in range(20):
        case = factories.make_case()
        factories.assign(case, cast.team, cast.collector)
    with django_assert_max_num_queries(12):
        page = client.get("/api/cases", {"limit": 50}, headers=headers).json()
    assert len(page["items"]) == 23
