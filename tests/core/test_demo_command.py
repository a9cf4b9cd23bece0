"""`doorstep demo`: from an empty database to staff, a portfolio and assigned cases; safe to run again."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from doorstep.collectors.models import CaseAssignment, Collector, Team, Territory
from doorstep.core.management.commands.demo import DEMO_PASSWORDS
from doorstep.core.models import AuditEvent
from doorstep.core.roles import Role
from doorstep.portfolio import selectors
from doorstep.portfolio.demo_data import CHENGDU_BRANCHES, CHENGDU_DISTRICTS
from doorstep.portfolio.models import ACTIVE_CASE_STATUSES, Case, SnapshotImport

DEMO_DATE = dt.date(2026, 11, 27)


@pytest.fixture(autouse=True)
def _demo_files_in_tmp(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.DOORSTEP_DEMO_DIR = tmp_path


def run_demo(**options: object) -> str:
    out = io.StringIO()
    call_command("demo", accounts=200, no_serve=True, date=DEMO_DATE, stdout=out, **options)
    return out.getvalue()


def people(role: Role) -> set[str]:
    return set(User.objects.filter(groups__name=role.value).values_list("username", flat=True))


def inventory() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "teams": Team.objects.count(),
        "territories": Territory.objects.count(),
        "collectors": Collector.objects.count(),
        "assignments": CaseAssignment.objects.count(),
        "imports": SnapshotImport.objects.count(),
        "cases": Case.objects.count(),
    }


@pytest.mark.django_db(transaction=True)
def test_the_demo_sets_up_staff_and_assigns_every_open_case_and_a_second_run_changes_nothing() -> None:
    output = run_demo()

    assert people(Role.ADMIN) == {"admin"} and User.objects.get(username="admin").is_superuser
    assert people(Role.MANAGER) == {"manager"}
    assert people(Role.TRAINER) == {"trainer"}
    assert people(Role.COMPLIANCE) == {"compliance"}
    teams = list(Team.objects.all())
    assert {team.branch_code for team in teams} == {branch.code for branch in CHENGDU_BRANCHES}
    assert people(Role.SUPERVISOR) == {team.supervisor.username for team in teams}  # type: ignore[union-attr]
    assert len(people(Role.SUPERVISOR)) == len(teams)
    assert Territory.objects.count() == len(CHENGDU_DISTRICTS)
    for team in teams:
        assert team.territories.count() == 1
        assert team.collectors.filter(is_active=True).count() >= 2
    assert people(Role.COLLECTOR) == set(Collector.objects.values_list("user__username", flat=True))
    assert Collector.objects.filter(home_latitude__isnull=True).count() == 0

    open_cases = Case.objects.filter(status__in=ACTIVE_CASE_STATUSES)
    assert open_cases.count() > 150
    # Every open case is assigned (cases that the demo's payments cured keep the assignment they had).
    assigned = CaseAssignment.objects.filter(ended_at__isnull=True)
    current = assigned.filter(case__status__in=ACTIVE_CASE_STATUSES).select_related("case", "team", "collector")
    assert current.count() == open_cases.count()
    for assignment in current:
        assert assignment.team.branch_code == assignment.case.branch_code
        assert assignment.collector is not None and assignment.collector.team_id == assignment.team_id

    # Each collector sees exactly their own cases; each team lead exactly their team's.
    for collector in Collector.objects.select_related("user"):
        own = set(assigned.filter(collector=collector).values_list("case_id", flat=True))
        assert set(selectors.case_list(user=collector.user).values_list("pk", flat=True)) == own
    lead = teams[0].supervisor
    assert selectors.case_list(user=lead).count() == assigned.filter(team=teams[0]).count()

    assert "http://127.0.0.1:8000/" in output
    for password in DEMO_PASSWORDS.values():
        assert password in output
    assert AuditEvent.objects.filter(action="portfolio.snapshot.imported").count() == 1
    # The demo's own allocation, then the field-visit allocation of the daily run (cases due a visit to crews).
    allocations = AuditEvent.objects.filter(action="collectors.case.assigned_bulk").count()
    assert allocations >= 1

    before = inventory()
    run_demo()
    assert inventory() == before
    assert AuditEvent.objects.filter(action="collectors.case.assigned_bulk").count() == allocations
    assert AuditEvent.objects.filter(action="portfolio.snapshot.imported").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_published_logins_work_and_a_collector_sees_only_their_cases() -> None:
    run_demo()
    client = Client()
    assert client.login(username="manager", password=DEMO_PASSWORDS[Role.MANAGER])
    collector = Collector.objects.select_related("user").order_by("badge_number").first()
    assert collector is not None
    assert client.login(username=collector.user.username, password=DEMO_PASSWORDS[Role.COLLECTOR])
    own = CaseAssignment.objects.filter(ended_at__isnull=True, collector=collector).first()
    assert own is not None
    assert client.get(f"/cases/{own.case_id}/").status_code == 200
    someone_elses = CaseAssignment.objects.filter(ended_at__isnull=True).exclude(collector=collector).first()
    assert someone_elses is not None
    assert client.get(f"/cases/{someone_elses.case_id}/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_later_snapshot_is_imported_and_an_older_one_refused() -> None:
    run_demo()
    users_before = User.objects.count()
    out = io.StringIO()
    call_command(
        "demo", accounts=200, no_serve=True, date=DEMO_DATE + dt.timedelta(days=1), stdout=out
    )
    assert SnapshotImport.objects.count() == 2
    assert User.objects.count() == users_before
    assert not CaseAssignment.objects.filter(ended_at__isnull=True, collector__isnull=True).exists()
    with pytest.raises(CommandError, match="must not be older"):
        run_demo()


@pytest.mark.django_db(transaction=True)
def test_the_demo_refuses_to_run_in_production(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        run_demo()
    assert not User.objects.exists()
