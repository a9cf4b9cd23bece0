"""The strategy pages: managers edit and preview, a second manager approves, outsiders see nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from doorstep.core.roles import Role
from doorstep.strategy import services
from doorstep.strategy.models import StrategyVersion, VersionStatus
from tests import factories
from tests.conftest import Cast
from tests.strategy.factories import activate, make_version


def client_for(user, language: str = "en") -> Client:  # type: ignore[no-untyped-def]
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


def test_a_manager_adds_a_rule_through_the_form(cast: Cast) -> None:
    version = make_version(cast.manager, rules=[])
    response = client_for(cast.manager).post(
        reverse("strategy:rule_add", args=[version.pk]),
        {
            "name": "大额M2上门",
            "condition": "bucket = M2 and overdue_amount >= 3000",
            "step1_channel": "call",
            "step1_day": "0",
            "step1_script": "call_m2",
            "step1_priority": "2",
            "step2_channel": "visit",
            "step2_day": "5",
            "step2_every": "14",
            "step2_script": "visit_first",
            "step2_priority": "1",
        },
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.rules_json[0]["name"] == "大额M2上门"
    assert [step["channel"] for step in version.rules_json[0]["steps"]] == ["call", "visit"]


def test_a_bad_condition_is_shown_on_the_form_and_nothing_is_saved(cast: Cast) -> None:
    version = make_version(cast.manager, rules=[])
    response = client_for(cast.manager).post(
        reverse("strategy:rule_add", args=[version.pk]),
        {"name": "Bad", "condition": "bucket > M2", "step1_channel": "sms", "step1_day": "0"},
    )
    assert response.status_code == 200
    assert "cannot be compared" in response.content.decode()
    version.refresh_from_db()
    assert version.rules_json == []


def test_the_version_page_shows_rules_checks_and_the_approval_action(cast: Cast) -> None:
    approver = factories.make_user("manager2", Role.MANAGER)
    version = make_version(cast.manager)
    services.version_submit(actor=cast.manager, version_id=version.pk)

    own = client_for(cast.manager).get(reverse("strategy:version_detail", args=[version.pk])).content.decode()
    other = client_for(approver).get(reverse("strategy:version_detail", args=[version.pk])).content.decode()

    assert "bucket == M2 and overdue_amount &gt;= 3000.00" in own
    assert reverse("strategy:version_approve", args=[version.pk]) not in own
    assert reverse("strategy:version_approve", args=[version.pk]) in other


def test_the_preview_counts_cases_and_money_per_rule(cast: Cast) -> None:
    version = make_version(cast.manager)
    response = client_for(cast.manager).get(reverse("strategy:version_preview", args=[version.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    # The cast's three M2 cases of ¥3,170.50 each fall under "Big M2".
    assert "Big M2" in html and "¥9,511.50" in html


def test_what_if_on_a_past_date_reads_the_saved_run_and_writes_nothing(cast: Cast) -> None:
    approver = factories.make_user("manager2", Role.MANAGER)
    active = activate(make_version(cast.manager), cast.manager, approver)
    day = dt.date(2026, 11, 27)
    services.strategy_apply(actor="system:test", business_date=day)
    draft = services.version_new_draft(actor=cast.manager, version_id=active.pk)
    services.rule_save(
        actor=cast.manager,
        version_id=draft.pk,
        key="r3",
        name="Big M2",
        condition="bucket = M2 and overdue_amount >= 5000",
        steps=[{"channel": "visit", "day": 0}],
    )
    from doorstep.strategy.models import CaseTreatment

    before = CaseTreatment.objects.count()
    response = client_for(cast.manager).get(
        reverse("strategy:version_preview", args=[draft.pk]), {"date": day.isoformat()}
    )

    assert response.status_code == 200
    assert "3 cases would get a different rule" in response.content.decode()
    assert CaseTreatment.objects.count() == before
    chinese = client_for(cast.manager, "zh-hans").get(
        reverse("strategy:version_preview", args=[draft.pk]), {"date": day.isoformat()}
    )
    assert "3 件案件将命中与当时不同的规则" in chinese.content.decode()


@pytest.mark.parametrize("who", ["collector_user", "supervisor", "outsider"])
def test_people_without_strategy_rights_cannot_see_or_change_strategies(cast: Cast, who: str) -> None:
    version = make_version(cast.manager)
    client = client_for(getattr(cast, who))
    assert client.get(reverse("strategy:index")).status_code == 403
    assert client.get(reverse("strategy:version_detail", args=[version.pk])).status_code == 403
    assert client.post(reverse("strategy:version_submit", args=[version.pk])).status_code == 403
    assert StrategyVersion.objects.get(pk=version.pk).status == VersionStatus.DRAFT


def test_compliance_reads_strategies_but_cannot_edit(cast: Cast) -> None:
    version = make_version(cast.manager)
    client = client_for(cast.compliance)
    assert client.get(reverse("strategy:version_detail", args=[version.pk])).status_code == 200
    assert client.post(reverse("strategy:rule_delete", args=[version.pk, "r1"])).status_code == 403


def test_collectors_read_scripts_in_their_language(cast: Cast) -> None:
    chinese = client_for(cast.collector_user, "zh-hans").get(
        reverse("strategy:script_detail", args=["visit_first"])
    )
    assert chinese.status_code == 200
    assert "首次上门拜访" in chinese.content.decode() and "禁止用语" in chinese.content.decode()
    english = client_for(cast.collector_user, "en").get(
        reverse("strategy:script_detail", args=["visit_first"])
    )
    assert "First field visit" in english.content.decode() and "Never say" in english.content.decode()


def test_the_runs_page_shows_each_step_and_its_summary(cast: Cast) -> None:
    from django.core.management import call_command

    call_command("run_daily", "--date", "2026-11-28", "--wait")
    html = client_for(cast.manager).get(reverse("strategy:runs")).content.decode()
    assert "2026-11-28" in html and "Intake" in html and "Strategy" in html


def test_a_manager_starts_a_run_from_the_page(cast: Cast, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    response = client_for(cast.manager).post(reverse("strategy:run_start"), {"business_date": "2026-11-28"})
    assert response.status_code == 302
    from doorstep.strategy.models import DailyRun

    assert DailyRun.objects.get().status == "succeeded"
