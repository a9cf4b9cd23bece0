"""The staff pages of the portfolio, as the cast uses them."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from doorstep.compliance.models import Channel, ContactEvent, Verdict
from doorstep.core.audit import audit_record
from doorstep.core.crypto import decrypt_text
from doorstep.core.models import AuditEvent
from doorstep.core.roles import Role
from doorstep.portfolio.models import BucketMove, CaseStatus, SnapshotImport
from doorstep.portfolio.services import case_transition
from tests import factories
from tests.conftest import Cast
from tests.portfolio import snapshots

CASES = reverse("portfolio:case_list")


def logged_in(client: Client, user) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(user)
    return client


def case_ids(response) -> set[int]:  # type: ignore[no-untyped-def]
    return {case.pk for case in response.context["page"].cases}


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


# --- Who may see what ---


def test_anonymous_visitors_are_sent_to_log_in(client: Client, cast: Cast) -> None:
    for url in (CASES, reverse("portfolio:case_detail", args=[cast.own_case.pk]), reverse("portfolio:snapshot_imports")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("core:login"))


def test_an_htmx_request_after_the_session_ended_sends_the_whole_page_to_log_in(client: Client, cast: Cast) -> None:
    response = client.get(CASES, {"bucket": "M2"}, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/cases/?bucket=M1")

    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("core:login") + "?next=%2Fcases%2F%3Fbucket%3DM1"


def test_manager_sees_every_case_with_the_bucket_summary(client: Client, cast: Cast) -> None:
    response = logged_in(client, cast.manager).get(CASES)

    assert response.status_code == 200
    assert case_ids(response) == {cast.own_case.pk, cast.colleagues_case.pk, cast.other_team_case.pk}
    summary = response.context["summary"]
    assert summary.cases == 3
    # Each cast case owes 3,000.00 + 150.00 + 20.50, and all are 45 days past due (M2).
    m2 = next(bucket for bucket in summary.buckets if bucket.bucket == "M2")
    assert (m2.cases, m2.overdue_total) == (3, Decimal("9511.50"))
    assert [bucket.bucket for bucket in summary.buckets] == ["M1", "M2", "M3", "M4+"]
    assert "¥9,511.50" in text(response)


def test_a_collector_sees_only_their_own_cases_and_only_themself_as_collector(client: Client, cast: Cast) -> None:
    response = logged_in(client, cast.collector_user).get(CASES)

    assert case_ids(response) == {cast.own_case.pk}
    assert "刘洋" not in text(response)
    assert list(response.context["form"].fields["collector"].queryset) == [cast.collector]
    assert 'id="id_collector"' not in text(response)  # nothing to choose: the list is theirs alone
    assert client.get(reverse("portfolio:case_detail", args=[cast.colleagues_case.pk])).status_code == 404


def test_a_collector_cannot_widen_their_list_by_filtering_on_a_colleague(client: Client, cast: Cast) -> None:
    response = logged_in(client, cast.collector_user).get(CASES, {"collector": cast.other_collector.pk})

    assert case_ids(response) == {cast.own_case.pk}
    assert "collector" in response.context["form"].errors


def test_a_team_lead_sees_their_team_and_filters_by_its_collectors(client: Client, cast: Cast) -> None:
    response = logged_in(client, cast.supervisor).get(CASES, {"collector": cast.other_collector.pk})

    assert case_ids(response) == {cast.colleagues_case.pk}
    assert set(response.context["form"].fields["collector"].queryset) == {cast.collector, cast.other_collector}
    assert 'id="id_collector"' in text(response)


def test_an_outsider_without_a_role_is_refused_on_a_translated_page(client: Client, cast: Cast) -> None:
    response = logged_in(client, cast.outsider).get(CASES)

    assert response.status_code == 403
    assert "没有权限" in text(response) or "不允许" in text(response)
    assert cast.own_case.borrower.name not in text(response)


def test_a_missing_case_gets_the_translated_404_page_in_the_layout(client: Client, cast: Cast) -> None:
    response = logged_in(client, cast.manager).get(reverse("portfolio:case_detail", args=[999999]))

    assert response.status_code == 404
    assert 'class="topbar"' in text(response)
    assert "页面不存在" in text(response)


# --- Filters, sorting, pages ---


@pytest.fixture
def spread(cast: Cast) -> dict[str, object]:
    """Four more cases across buckets and branches, with distinct amounts."""
    early = factories.make_case(factories.make_borrower("孙丽"), days_past_due=12, overdue_principal="500.00")
    late = factories.make_case(
        factories.make_borrower("周强"), days_past_due=75, overdue_principal="8000.00", branch_code="CD002"
    )
    oldest = factories.make_case(factories.make_borrower("吴敏"), days_past_due=200, overdue_principal="12000.00")
    cured = factories.make_case(factories.make_borrower("郑洁"), days_past_due=5, status=CaseStatus.CURED)
    return {"early": early, "late": late, "oldest": oldest, "cured": cured}


def test_filtering_by_bucket_narrows_the_list_and_the_summary(client: Client, cast: Cast, spread) -> None:  # type: ignore[no-untyped-def]
    response = logged_in(client, cast.manager).get(CASES, {"bucket": "M1"})

    assert case_ids(response) == {spread["early"].pk, spread["cured"].pk}
    assert response.context["summary"].cases == 2


def test_filtering_by_days_past_due_range_branch_and_status(client: Client, cast: Cast, spread) -> None:  # type: ignore[no-untyped-def]
    client = logged_in(client, cast.manager)

    assert case_ids(client.get(CASES, {"dpd_min": 60, "dpd_max": 250})) == {spread["late"].pk, spread["oldest"].pk}
    assert case_ids(client.get(CASES, {"branch": "CD002"})) == {cast.other_team_case.pk, spread["late"].pk}
    assert case_ids(client.get(CASES, {"status": "cured"})) == {spread["cured"].pk}


def test_search_finds_a_borrower_by_name_customer_number_or_loan_number(client: Client, cast: Cast) -> None:
    client = logged_in(client, cast.manager)
    borrower = cast.colleagues_case.borrower
    loan = cast.colleagues_case.loans.get()

    assert case_ids(client.get(CASES, {"query": "刘"})) == {cast.colleagues_case.pk}
    assert case_ids(client.get(CASES, {"query": borrower.customer_id})) == {cast.colleagues_case.pk}
    assert case_ids(client.get(CASES, {"query": loan.loan_id})) == {cast.colleagues_case.pk}
    assert case_ids(client.get(CASES, {"query": "nobody-at-all"})) == set()


def test_searching_for_a_colleagues_borrower_finds_nothing(client: Client, cast: Cast) -> None:
    client = logged_in(client, cast.collector_user)
    borrower = cast.colleagues_case.borrower

    assert case_ids(client.get(CASES, {"query": borrower.customer_id})) == set()
    assert case_ids(client.get(CASES, {"query": borrower.name})) == set()
    assert case_ids(client.get(CASES, {"query": cast.colleagues_case.loans.get().loan_id})) == set()


def test_bad_filter_values_are_explained_and_narrow_nothing(client: Client, cast: Cast) -> None:
    response = logged_in(client, cast.manager).get(CASES, {"dpd_min": "lots", "dpd_max": "10", "bucket": "M9"})

    assert response.status_code == 200
    assert {"dpd_min", "bucket"} <= set(response.context["form"].errors)
    # dpd_max=10 alone is valid and still applies: no cast case is at most 10 days past due.
    assert case_ids(response) == set()
    assert 'role="alert"' in text(response)


def test_an_inverted_days_past_due_range_is_an_error_not_an_empty_list(client: Client, cast: Cast) -> None:
    response = logged_in(client, cast.manager).get(CASES, {"dpd_min": 90, "dpd_max": 30})

    assert "dpd_max" in response.context["form"].errors
    assert len(case_ids(response)) == 3


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-overdue", ["oldest", "late", "own", "early"]),
        ("overdue", ["early", "own", "late", "oldest"]),
        ("-dpd", ["oldest", "late", "own", "early"]),
        ("dpd", ["early", "own", "late", "oldest"]),
    ],
)
def test_sorting(client: Client, cast: Cast, spread, sort: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    cases = {**spread, "own": cast.own_case}
    response = logged_in(client, cast.manager).get(CASES, {"sort": sort, "status": "open"})
    order = [case.pk for case in response.context["page"].cases]
    wanted = [cases[name].pk for name in expected]
    assert [pk for pk in order if pk in wanted] == wanted


def test_sorting_by_name_and_opened_date(client: Client, cast: Cast) -> None:
    client = logged_in(client, cast.manager)
    names = [case.borrower.name for case in client.get(CASES, {"sort": "name"}).context["page"].cases]
    assert names == sorted(names)
    opened = [case.opened_on for case in client.get(CASES, {"sort": "-opened"}).context["page"].cases]
    assert opened == sorted(opened, reverse=True)


def test_the_list_pages_fifty_at_a_time_without_a_query_per_row(
    client: Client, cast: Cast, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for number in range(52):
        case = factories.make_case(factories.make_borrower(f"借款人{number:02d}"), days_past_due=10 + number)
        factories.assign(case, cast.team, cast.collector)
    client = logged_in(client, cast.manager)

    with django_assert_max_num_queries(12):
        first = client.get(CASES)
    second = client.get(CASES, {"page": 2})
    beyond = client.get(CASES, {"page": 99})

    assert len(first.context["page"].cases) == 50
    assert first.context["page"].pages == 2
    assert len(second.context["page"].cases) == 5
    assert case_ids(first).isdisjoint(case_ids(second))
    assert beyond.context["page"].number == 2
    assert "page=2" in text(first)
    assert "1\N{EN DASH}50" in text(first)


def test_htmx_requests_get_only_the_results_fragment(client: Client, cast: Cast) -> None:
    response = logged_in(client, cast.manager).get(CASES, {"bucket": "M2"}, HTTP_HX_REQUEST="true")

    assert "<html" not in text(response)
    assert "summary" in text(response)
    assert 'hx-swap-oob="true"' in text(response)
    assert "HX-Request" in response["Vary"]
    full = client.get(CASES, {"bucket": "M2"})
    assert "<html" in text(full)
    assert 'hx-push-url="true"' in text(full)
    assert text(full).count('aria-sort="descending"') == 1  # days past due, the default order


# --- The case page ---


def test_the_case_page_shows_loans_exactly_and_personal_data_masked(client: Client, cast: Cast) -> None:
    borrower = cast.own_case.borrower
    response = logged_in(client, cast.collector_user).get(reverse("portfolio:case_detail", args=[cast.own_case.pk]))
    page = text(response)

    assert response.status_code == 200
    assert borrower.national_id_masked in page
    assert borrower.phone_masked in page
    assert decrypt_text(borrower.national_id_encrypted) not in page
    assert decrypt_text(borrower.phone_encrypted) not in page
    assert "¥3,170.50" in page  # the case's overdue amount
    assert "¥30,000.00" in page  # the loan's principal
    assert "¥20.50" in page  # penalty interest
    assert "关注" in page  # the loan's classification, translated
    assert "赵催收" in page  # the current collector
    assert "锦江一组" in page


def test_the_case_page_shows_its_histories_and_ledger_newest_first(client: Client, cast: Cast) -> None:
    case = cast.own_case
    loan = case.loans.get()
    BucketMove.objects.create(
        loan=loan, case=case, snapshot_date=case.snapshot_date, from_bucket="M1", to_bucket="M2",
        days_past_due=31, overdue_amount=Decimal("3170.50"),
    )
    case_transition(actor=cast.supervisor, case=case, to_status=CaseStatus.ARRANGEMENT, reason="分期还款方案")
    now = timezone.now()
    for hours, outcome in ((5, "no_answer"), (1, "promise")):
        ContactEvent.objects.create(
            case=case, borrower=case.borrower, channel=Channel.CALL, started_at=now - dt.timedelta(hours=hours),
            actor_label="collector", outcome_code=outcome, verdict=Verdict.ALLOWED,
        )

    page = text(logged_in(client, cast.manager).get(reverse("portfolio:case_detail", args=[case.pk])))

    assert "M1 → M2" in page
    assert "分期还款方案" in page
    assert page.index("promise") < page.index("no_answer")
    assert "状态变更为“还款方案执行中”" in page  # the audit trail, visible to a manager
    assert "portfolio.case.arrangement" in page


def test_the_audit_trail_is_shown_only_to_those_who_may_read_it(client: Client, cast: Cast) -> None:
    audit_record(actor=cast.manager, action="portfolio.case.noted", target=cast.own_case)
    url = reverse("portfolio:case_detail", args=[cast.own_case.pk])

    assert "portfolio.case.noted" in text(logged_in(client, cast.compliance).get(url))
    assert "portfolio.case.noted" not in text(logged_in(client, cast.collector_user).get(url))


def test_the_audit_trail_leaves_out_other_cases(client: Client, cast: Cast) -> None:
    audit_record(actor=cast.manager, action="portfolio.case.elsewhere", target=cast.colleagues_case)
    page = text(logged_in(client, cast.manager).get(reverse("portfolio:case_detail", args=[cast.own_case.pk])))
    assert "portfolio.case.elsewhere" not in page


# --- Revealing a number ---


def reveal_url(case_id: int, field: str) -> str:
    return reverse("portfolio:borrower_reveal", args=[case_id, field])


def test_revealing_shows_the_number_once_and_audits_it(client: Client, cast: Cast) -> None:
    borrower = cast.own_case.borrower
    phone = decrypt_text(borrower.phone_encrypted)
    client = logged_in(client, cast.collector_user)

    response = client.post(reveal_url(cast.own_case.pk, "phone"), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert phone in text(response)
    assert "<html" not in text(response)
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="portfolio.borrower.revealed_phone")
    assert (event.actor, event.object_id) == (cast.collector_user, str(borrower.pk))
    # The case page itself still shows only the masked number.
    assert phone not in text(client.get(reverse("portfolio:case_detail", args=[cast.own_case.pk])))


def test_revealing_without_javascript_shows_a_page_with_the_id_number(client: Client, cast: Cast) -> None:
    national_id = decrypt_text(cast.own_case.borrower.national_id_encrypted)
    response = logged_in(client, cast.manager).post(reveal_url(cast.own_case.pk, "national_id"))

    assert national_id in text(response)
    assert "<html" in text(response)


def test_revealing_is_refused_to_the_wrong_people_and_changes_nothing(client: Client, cast: Cast) -> None:
    assert logged_in(client, cast.collector_user).post(reveal_url(cast.colleagues_case.pk, "phone")).status_code == 404
    assert logged_in(client, cast.compliance).post(reveal_url(cast.own_case.pk, "phone")).status_code == 403
    assert logged_in(client, cast.manager).post(reveal_url(cast.own_case.pk, "address")).status_code == 404
    assert client.get(reveal_url(cast.own_case.pk, "phone")).status_code == 405
    assert not AuditEvent.objects.filter(action__startswith="portfolio.borrower.revealed").exists()


def test_the_reveal_button_is_shown_only_to_those_allowed(client: Client, cast: Cast) -> None:
    url = reverse("portfolio:case_detail", args=[cast.own_case.pk])
    assert reveal_url(cast.own_case.pk, "phone") in text(logged_in(client, cast.manager).get(url))
    assert reveal_url(cast.own_case.pk, "phone") not in text(logged_in(client, cast.compliance).get(url))


def test_the_english_page_uses_english_labels(client: Client, cast: Cast) -> None:
    client = logged_in(client, cast.manager)
    client.post(reverse("set_language"), {"language": "en", "next": CASES})

    page = text(client.get(CASES))

    assert "Days past due" in page
    assert "逾期天数" not in page
    assert re.search(r"3\s+cases", page)


# --- Past imports ---


def test_the_past_imports_are_listed_for_managers_only(client: Client, cast: Cast) -> None:
    SnapshotImport.objects.create(
        snapshot_date=dt.date(2026, 11, 27), file_name="overdue-20261127.csv", file_sha256="0" * 64, rows=1234,
        cases_opened=17, started_at=timezone.now(), finished_at=timezone.now(), imported_by_label="manager",
    )
    url = reverse("portfolio:snapshot_imports")

    page = text(logged_in(client, cast.manager).get(url))
    assert "overdue-20261127.csv" in page
    assert "1234" in page
    assert logged_in(client, cast.supervisor).get(url).status_code == 403
    assert logged_in(client, cast.collector_user).get(url).status_code == 403


# --- Uploading a snapshot and following its import ---


@pytest.fixture
def uploads(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.DOORSTEP_UPLOAD_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    return tmp_path


def snapshot_file(rows: list[dict[str, str]], name: str = "逾期数据-20261127.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, snapshots.csv_text(rows).encode(), content_type="text/csv")


def run_worker() -> None:
    """Run the queued import as the worker process would. The worker manages its own transactions,
    so the tests that call it use a committing database (`transaction=True`)."""
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_a_manager_uploads_a_snapshot_and_watches_it_import(client: Client, cast: Cast, uploads) -> None:  # type: ignore[no-untyped-def]
    client = logged_in(client, cast.manager)
    rows = [snapshots.loan("LWEB0001", 501, name="冯刚"), snapshots.loan("LWEB0002", 502, name="褚红", days=95)]

    response = client.post(
        reverse("portfolio:snapshot_imports"),
        {"file": snapshot_file(rows), "snapshot_date": "2026-11-27", "encoding": ""},
    )

    assert response.status_code == 302
    status_url = response["Location"]
    [stored] = list(uploads.iterdir())
    assert stored.suffix == ".csv" and "逾期" not in stored.name
    event = AuditEvent.objects.get(action="portfolio.snapshot.queued")
    assert event.actor == cast.manager and event.data["file_name"] == "逾期数据-20261127.csv"

    waiting = client.get(status_url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in text(waiting)
    assert "自动刷新" in text(waiting)

    run_worker()

    done = client.get(status_url, HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in text(done)
    assert "逾期数据已导入" in text(done)
    assert dict(done.context["summary"])["新立案件"] == 2
    assert SnapshotImport.objects.filter(snapshot_date=dt.date(2026, 11, 27)).exists()
    listing = text(client.get(reverse("portfolio:snapshot_imports")))
    # The file is kept under a random name; the pages show the name it was sent with.
    assert "2026-11-27" in listing and "逾期数据-20261127.csv" in listing
    assert ("文件", "逾期数据-20261127.csv") in done.context["summary"]
    assert case_ids(client.get(CASES, {"query": "冯刚"}))
    # A full file without the cast's loans means those borrowers were brought current.
    assert case_ids(client.get(CASES, {"status": "cured"})) == {
        cast.own_case.pk, cast.colleagues_case.pk, cast.other_team_case.pk
    }


@pytest.mark.django_db(transaction=True)
def test_a_rejected_snapshot_shows_its_problems_with_personal_data_masked(client: Client, cast: Cast, uploads) -> None:  # type: ignore[no-untyped-def]
    client = logged_in(client, cast.manager)
    bad_id = "110101199003071230"  # the check character should be 4
    rows = [
        snapshots.loan("LWEB0003", 503, overdue_principal="3,000.0.0"),
        snapshots.loan("LWEB0004", 504, national_id=bad_id),
    ]
    status_url = client.post(reverse("portfolio:snapshot_imports"), {"file": snapshot_file(rows)})["Location"]
    run_worker()

    page = text(client.get(status_url))

    assert "文件被拒收" in page
    assert "overdue_principal" in page and "3,000.0.0" in page
    assert "national_id" in page and bad_id not in page and "110101********1230" in page
    assert not SnapshotImport.objects.exists()
    assert not cast.own_case.borrower.loans.filter(loan_id="LWEB0003").exists()


def test_a_file_of_the_wrong_kind_is_refused_on_the_form_and_nothing_is_kept(
    client: Client, cast: Cast, uploads
) -> None:  # type: ignore[no-untyped-def]
    response = logged_in(client, cast.manager).post(
        reverse("portfolio:snapshot_imports"),
        {"file": SimpleUploadedFile("payload.exe", b"MZ\x90\x00"), "encoding": "latin-1"},
    )

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"file", "encoding"}
    assert list(uploads.iterdir()) == []
    assert not AuditEvent.objects.filter(action="portfolio.snapshot.queued").exists()


def test_only_managers_may_upload(client: Client, cast: Cast, uploads) -> None:  # type: ignore[no-untyped-def]
    response = logged_in(client, cast.supervisor).post(
        reverse("portfolio:snapshot_imports"), {"file": snapshot_file([snapshots.loan("LWEB0005", 505)])}
    )

    assert response.status_code == 403
    assert list(uploads.iterdir()) == []


def test_an_import_status_belongs_to_whoever_sent_the_file(client: Client, cast: Cast, uploads) -> None:  # type: ignore[no-untyped-def]
    status_url = logged_in(client, cast.manager).post(
        reverse("portfolio:snapshot_imports"), {"file": snapshot_file([snapshots.loan("LWEB0006", 506)])}
    )["Location"]
    other_manager = factories.make_user("manager2", Role.MANAGER)

    assert logged_in(Client(), other_manager).get(status_url).status_code == 404
    assert client.get(reverse("portfolio:snapshot_import_status", args=["not-a-task"])).status_code == 404
    assert client.get(reverse("portfolio:snapshot_import_status", args=[str(uuid.uuid4())])).status_code == 404
