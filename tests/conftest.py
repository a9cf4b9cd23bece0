"""The cast most tests use: a manager, a team lead with a team, two collectors, and an outsider."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User

from doorstep.collectors.models import Collector, Team
from doorstep.core.roles import Role
from doorstep.portfolio.models import Case
from tests import factories


@dataclass
class Cast:
    manager: User
    supervisor: User
    team: Team
    collector_user: User
    collector: Collector
    other_collector_user: User
    other_collector: Collector
    outsider: User
    compliance: User
    own_case: Case
    colleagues_case: Case
    other_team_case: Case


@pytest.fixture
def cast(db: None) -> Cast:
    manager = factories.make_user("manager", Role.MANAGER, first_name="王经理")
    supervisor = factories.make_user("lead", Role.SUPERVISOR, first_name="李组长")
    team = factories.make_team(supervisor=supervisor)
    collector_user = factories.make_user("collector", Role.COLLECTOR, first_name="赵催收")
    collector = factories.make_collector(collector_user, team, "CD0001")
    other_user = factories.make_user("colleague", Role.COLLECTOR, first_name="钱催收")
    other_collector = factories.make_collector(other_user, team, "CD0002")
    other_team = factories.make_team(name="青羊二组", branch_code="CD002")
    outsider = factories.make_user("outsider")
    compliance = factories.make_user("auditor", Role.COMPLIANCE)
    own_case = factories.make_case(factories.make_borrower("张伟"))
    colleagues_case = factories.make_case(factories.make_borrower("刘洋"))
    other_team_case = factories.make_case(factories.make_borrower("陈静"), branch_code="CD002")
    factories.assign(own_case, team, collector)
    factories.assign(colleagues_case, team, other_collector)
    factories.assign(other_team_case, other_team)
    return Cast(
        manager, supervisor, team, collector_user, collector, other_user, other_collector, outsider, compliance,
        own_case, colleagues_case, other_team_case,
    )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """pytest-django's test database, whose PostgreSQL sessions still open at the end (a live server's
    threads keep their own) are ended first, so that the database can be dropped."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
