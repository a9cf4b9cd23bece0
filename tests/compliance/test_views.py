"""The compliance pages as their users meet them."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse

from doorstep.compliance import services
from doorstep.compliance.models import ContactEvent, RuleSet, Verdict
from doorstep.core.models import AuditEvent
from tests.compliance.conftest import field_visit, local, phone_call
from tests.conftest import Cast

PERIOD = {"since": "2026-11-01", "until": "2026-11-30"}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ledger(certified: Cast) -> dict[str, ContactEvent]:
    """A refused late call, a refused one-collector visit that the team lead overrode, and an allowed call."""
    late, _ = services.contact_record(
        actor=certified.collector_user,
        action=phone_call(certified.own_case, local("2026-11-20T22:10:00"), certified.collector),
    )
    visit, _ = services.contact_record(
        actor=certified.collector_user,
        action=field_visit(certified.own_case, local("2026-11-21T10:00:00"), certified.collector),
    )
    services.contact_override(actor=certified.supervisor, contact_event=visit, reason="搭档临时请假，组长批准单人上门")
    fine, _ = services.contact_record(
        actor=certified.other_collector_user,
        action=phone_call(certified.colleagues_case, local("2026-11-22T10:00:00"), certified.other_collector),
    )
    return {"late": late, "visit": visit, "fine": fine}


def test_compliance_finds_the_refusal_and_the_override_in_the_report(certified: Cast, ledger) -> None:
    response = logged_in(certified.compliance).get(reverse("compliance:report"), PERIOD, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    report = response.context["report"]
    assert (report.total, report.allowed, report.refused, report.overridden) == (3, 1, 1, 1)
    assert {row.rule_id: (row.refused, row.overridden) for row in report.by_rule} == {"CN-T1": (1, 0), "CN-V1": (0, 1)}
    page = response.content.decode()
    assert "<svg" in page and "CN-V1" in page
    assert "搭档临时请假，组长批准单人上门" in page
    assert "13800000001" not in page


def test_the_report_filters_by_collector_and_team(certified: Cast, ledger) -> None:
    client = logged_in(certified.compliance)
    mine = client.get(reverse("compliance:report"), {**PERIOD, "collector": certified.other_collector.pk}).context["report"]
    assert (mine.total, mine.refused, mine.overridden) == (1, 0, 0)
    team = client.get(reverse("compliance:report"), {**PERIOD, "team": certified.team.pk}).context["report"]
    assert team.total == 3


def test_a_bad_period_is_a_clear_error(certified: Cast) -> None:
    response = logged_in(certified.compliance).get(reverse("compliance:report"), {"since": "2026-12-01", "until": "2026-11-01"})
    assert response.status_code == 200
    assert "report" not in response.context
    assert response.context["form"].errors


@pytest.mark.parametrize("who", ["collector_user", "outsider"])
def test_collectors_and_outsiders_see_no_report(certified: Cast, who: str) -> None:
    client = logged_in(getattr(certified, who))
    assert client.get(reverse("compliance:report")).status_code == 403
    assert client.get(reverse("compliance:export"), PERIOD).status_code == 403


def test_the_regulator_export_lists_every_contact_without_personal_numbers(certified: Cast, ledger) -> None:
    response = logged_in(certified.compliance).get(reverse("compliance:export"), PERIOD)
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["verdict"] for row in rows] == ["refused", "overridden", "allowed"]
    assert rows[0]["rules_refused"] == "CN-T1"
    assert rows[1]["overridden_by"] == "lead"
    assert "13800000001" not in body and certified.own_case.borrower.national_id_masked not in body
    assert AuditEvent.objects.filter(action="compliance.ledger.exported", actor=certified.compliance).exists()


def test_a_team_lead_sees_only_their_team_and_may_not_export(certified: Cast, ledger) -> None:
    client = logged_in(certified.supervisor)
    report = client.get(reverse("compliance:report"), PERIOD).context["report"]
    assert report.total == 3
    assert client.get(reverse("compliance:export"), PERIOD).status_code == 403


def test_the_case_timeline_shows_every_contact_with_its_verdict(certified: Cast, ledger) -> None:
    response = logged_in(certified.compliance).get(
        reverse("compliance:case_timeline", args=[certified.own_case.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    contacts = response.context["contacts"]
    assert [c.verdict for c in contacts] == [Verdict.REFUSED, Verdict.OVERRIDDEN]
    assert "Earliest allowed" in response.content.decode()


def test_a_team_lead_overrides_through_the_page(certified: Cast) -> None:
    visit, _ = services.contact_record(
        actor=certified.collector_user,
        action=field_visit(certified.own_case, local("2026-11-21T10:00:00"), certified.collector),
    )
    client = logged_in(certified.supervisor)
    url = reverse("compliance:contact_override", args=[visit.pk])
    assert client.get(url).status_code == 200
    short = client.post(url, {"reason": "ok"})
    assert short.status_code == 200
    visit.refresh_from_db()
    assert visit.verdict == Verdict.REFUSED
    response = client.post(url, {"reason": "搭档临时请假，组长批准单人上门"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.verdict == Verdict.OVERRIDDEN
    assert logged_in(certified.collector_user).post(url, {"reason": "I want to go anyway"}).status_code == 403


def test_compliance_publishes_a_new_rule_set_version_from_the_page(certified: Cast) -> None:
    client = logged_in(certified.compliance)
    url = reverse("compliance:ruleset_edit", args=["CN"])
    form = client.get(url).context["form"]
    data = {name: field.initial for name, field in form.fields.items() if field.initial not in (None, False)}
    cn_f2 = next(row["rule"] for row in form.rows() if row["rule"].rule_id == "CN-F2")
    data[f"params_{cn_f2.pk}"] = '{"max_per_day": 2}'
    data["note"] = "内部政策：每日接通不超过2次"
    response = client.post(url, data)
    assert response.status_code == 302
    active = RuleSet.objects.get(jurisdiction="CN", is_active=True)
    assert active.version == 2
    assert active.rules.get(rule_id="CN-F2").params == {"max_per_day": 2}
    assert active.rules.get(rule_id="CN-T1").params == RuleSet.objects.get(jurisdiction="CN", version=1).rules.get(rule_id="CN-T1").params
    bad = dict(data, note="坏参数")
    bad[f"params_{cn_f2.pk}"] = "{not json"
    assert client.post(url, bad).status_code == 200
    assert RuleSet.objects.get(jurisdiction="CN", is_active=True).version == 2
    assert logged_in(certified.supervisor).get(url).status_code == 403


def test_rule_set_and_retention_pages_render(certified: Cast) -> None:
    client = logged_in(certified.compliance)
    services.ruleset_active("CN")
    assert "CN-T1" in client.get(reverse("compliance:ruleset_detail", args=[RuleSet.objects.get(jurisdiction="CN").pk])).content.decode()
    assert client.get(reverse("compliance:ruleset_list")).status_code == 200
    services.retention_run(actor="system:test", today=dt.date(2026, 11, 30), dry_run=True)
    page = client.get(reverse("compliance:retention")).content.decode()
    assert "CN-R2" in page
