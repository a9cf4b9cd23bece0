"""The dashboards as each role sees them, the drill-down to the cases behind a figure, exports, and the
monthly report, over facts built from a small portfolio by the same step the daily run uses."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from doorstep.compliance.models import ContactEvent
from doorstep.reports import facts
from doorstep.reports.models import CaseMonthFact, MonthlyReport
from doorstep.reports.services import facts_refresh, monthly_report_generate
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def _call(case, at: dt.datetime, *, right_party: bool, recorded: dt.datetime | None = None) -> ContactEvent:
    return ContactEvent.objects.create(
        case=case, borrower=case.borrower, channel="call", started_at=at, created_at=recorded or at,
        actor_label="test", verdict="allowed", right_party=right_party, connected=True,
    )


@pytest.fixture
def built(cast: Cast) -> Cast:
    today = timezone.localdate()
    _call(cast.own_case, timezone.now() - dt.timedelta(minutes=5), right_party=True)
    _call(cast.colleagues_case, timezone.now() - dt.timedelta(minutes=5), right_party=False)
    facts_refresh(actor="system:test", business_date=today)
    return cast


def test_manager_sees_the_bank_and_a_collector_only_their_own(client, built: Cast) -> None:
    client.force_login(built.manager)
    page = client.get("/reports/")
    assert page.status_code == 200
    assert page.context["data"].totals["cases"] == 3
    assert page.context["data"].kpis["right_party_contact_rate"].numerator == 1
    client.force_login(built.collector_user)
    mine = client.get("/reports/")
    assert mine.context["data"].totals["cases"] == 1
    drill = client.get("/reports/cases/", {"month": timezone.localdate().strftime("%Y-%m")})
    assert [row.case_id for row, _case in drill.context["rows"]] == [built.own_case.pk]


def test_supervisor_sees_their_team_and_the_outsider_nothing(client, built: Cast) -> None:
    client.force_login(built.supervisor)
    page = client.get("/reports/")
    assert page.context["data"].totals["cases"] == 2
    client.force_login(built.outsider)
    assert client.get("/reports/").status_code == 403


def test_drill_down_lists_exactly_the_cases_behind_a_figure(client, built: Cast) -> None:
    client.force_login(built.manager)
    month = timezone.localdate().strftime("%Y-%m")
    reached = client.get("/reports/cases/", {"month": month, "stage": "right_party"})
    assert [row.case_id for row, _case in reached.context["rows"]] == [built.own_case.pk]
    assert f"/cases/{built.own_case.pk}/" in reached.content.decode()


def test_exports_as_csv_and_excel(client, built: Cast) -> None:
    client.force_login(built.manager)
    csv_file = client.get("/reports/export/kpis.csv")
    assert csv_file.status_code == 200 and csv_file["Content-Type"].startswith("text/csv")
    assert "1" in csv_file.content.decode("utf-8-sig")
    xlsx = client.get("/reports/export/productivity.xlsx")
    assert xlsx.content[:2] == b"PK"
    from zipfile import ZipFile

    assert "xl/worksheets/sheet1.xml" in ZipFile(BytesIO(xlsx.content)).namelist()
    assert client.get("/reports/export/nothing.csv").status_code == 404


def test_facts_of_a_past_day_ignore_what_was_recorded_later(built: Cast) -> None:
    today = timezone.localdate()
    month = today.replace(day=1)
    before = facts.month_facts_frame(month=month, as_of=today)
    # A call made today but recorded only tomorrow does not change today's facts.
    _call(built.other_team_case, timezone.now(), right_party=True, recorded=timezone.now() + dt.timedelta(days=1))
    assert facts.month_facts_frame(month=month, as_of=today).equals(before)


def test_monthly_report_in_both_languages_kept_in_the_archive(client, built: Cast) -> None:
    month = timezone.localdate().replace(day=1)
    reports = monthly_report_generate(actor=built.manager, month=month)
    assert sorted(report.language for report in reports) == ["en", "zh-hans"]
    assert all(bytes(report.pdf).startswith(b"%PDF") for report in reports)
    call_command("reports_monthly", "--month", f"{month:%Y-%m}")
    assert MonthlyReport.objects.filter(month=month).count() == 2
    client.force_login(built.manager)
    assert client.get("/reports/monthly/").status_code == 200
    assert client.get(f"/reports/monthly/{reports[0].pk}.pdf").content.startswith(b"%PDF")
    client.force_login(built.collector_user)
    assert client.get("/reports/monthly/").status_code == 403


def test_glossary_lists_every_metric(client, built: Cast) -> None:
    client.force_login(built.collector_user)
    page = client.get("/reports/glossary/").content.decode()
    for key in ("roll_rate", "flow_rate", "cure_rate", "recovery_rate", "promise_kept_rate",
                "right_party_contact_rate", "visit_contact_rate", "cost_to_collect", "complaints_per_100_visits"):
        assert f'id="{key}"' in page


def test_the_facts_step_replaces_a_month_rather_than_adding_to_it(built: Cast) -> None:
    facts_refresh(actor="system:test", business_date=timezone.localdate())
    assert CaseMonthFact.objects.count() == 3


def test_compliance_dashboard_for_compliance_only(client, built: Cast) -> None:
    client.force_login(built.compliance)
    page = client.get("/reports/compliance/")
    assert page.status_code == 200
    assert page.context["totals"]["contacts"] == 2
    assert client.get("/reports/export/channels.csv").status_code == 200
    client.force_login(built.collector_user)
    assert client.get("/reports/compliance/").status_code == 404


def test_the_daily_run_builds_the_facts_and_last_months_report_on_the_first_business_day(cast: Cast) -> None:
    from doorstep.strategy import flows

    assert [step.name for step in flows.DAILY_STEPS].index("reports") > [
        step.name for step in flows.DAILY_STEPS
    ].index("strategy")
    first = dt.date(2026, 12, 1)  # a Tuesday
    run = flows.daily_run_prepare(actor="system:test", business_date=first)
    flows.daily_step_execute(run_id=run.pk, name="reports", actor="system:test")
    step = run.steps.get(name="reports")
    assert step.status == "succeeded", step.error
    assert step.summary["monthly_report"] == "2026-11"
    assert MonthlyReport.objects.filter(month=dt.date(2026, 11, 1)).count() == 2
    second = flows.daily_run_prepare(actor="system:test", business_date=dt.date(2026, 12, 2))
    flows.daily_step_execute(run_id=second.pk, name="reports", actor="system:test")
    assert "monthly_report" not in second.steps.get(name="reports").summary


def test_the_api_gives_the_same_rates_in_the_callers_scope(client, built: Cast) -> None:
    client.force_login(built.collector_user)
    answer = client.get("/api/reports/kpis")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["scope"] == "collector" and body["cases"] == 1
    assert body["rates"]["right_party_contact_rate"]["numerator"] == "1"
    client.force_login(built.outsider)
    assert client.get("/api/reports/kpis").status_code == 403
