"""Giving cases to teams and collectors: one at a time, or a whole batch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from doorstep.collectors.models import CaseAssignment
from doorstep.collectors.services import PlannedAssignment, case_assign, cases_assign_bulk
from doorstep.core.models import AuditEvent
from doorstep.core.roles import Role
from doorstep.portfolio import selectors
from doorstep.portfolio.models import CaseStatus
from tests import factories
from tests.conftest import Cast


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # The refusals are matched by their English wording; the zh-Hans catalogue translates them.
    with translation.override("en"):
        yield


def visible(user) -> set[int]:  # type: ignore[no-untyped-def]
    return set(selectors.case_list(user=user).values_list("pk", flat=True))


def current(case) -> CaseAssignment:  # type: ignore[no-untyped-def]
    return CaseAssignment.objects.get(case=case, ended_at__isnull=True)


def test_a_new_case_is_assigned_to_a_team_and_a_collector(cast: Cast) -> None:
    case = factories.make_case(factories.make_borrower("孙丽"))
    assignment = case_assign(
        actor=cast.manager, case=case, team=cast.team, collector=cast.collector, reason="新案分配"
    )
    assert (assignment.team, assignment.collector, assignment.assigned_by) == (
        cast.team, cast.collector, cast.manager
    )
    assert case.pk in visible(cast.collector_user)
    assert case.pk in visible(cast.supervisor)
    event = AuditEvent.objects.get(action="collectors.case.assigned")
    assert event.actor == cast.manager
    assert (event.object_type, event.object_id) == ("portfolio.case", str(case.pk))
    assert event.data["collector"] == cast.collector.pk and event.data["reason"] == "新案分配"


def test_reassigning_ends_the_old_assignment_and_the_old_collector_loses_sight(cast: Cast) -> None:
    before = current(cast.own_case)
    assignment = case_assign(
        actor=cast.supervisor,
        case=cast.own_case,
        team=cast.team,
        collector=cast.other_collector,
        reason="原催收员休假",
    )
    before.refresh_from_db()
    assert before.ended_at is not None
    assert current(cast.own_case) == assignment
    assert cast.own_case.pk not in visible(cast.collector_user)
    assert cast.own_case.pk in visible(cast.other_collector_user)
    event = AuditEvent.objects.get(action="collectors.case.reassigned")
    assert event.data["from_collector"] == cast.collector.pk
    assert event.data["collector"] == cast.other_collector.pk


def test_assigning_a_case_where_it_already_is_changes_nothing(cast: Cast) -> None:
    before = current(cast.own_case)
    again = case_assign(actor=cast.manager, case=cast.own_case, team=cast.team, collector=cast.collector, reason="再次")
    assert again == before
    assert CaseAssignment.objects.filter(case=cast.own_case).count() == 1
    assert not AuditEvent.objects.filter(action__startswith="collectors.case.").exists()


def test_a_collector_of_another_team_is_refused_and_nothing_changes(cast: Cast) -> None:
    other_team = cast.other_team_case.assignments.get().team
    stranger = factories.make_collector(factories.make_user("stranger", Role.COLLECTOR), other_team)
    with pytest.raises(ValidationError, match="does not belong"):
        case_assign(actor=cast.manager, case=cast.own_case, team=cast.team, collector=stranger, reason="错误分配")
    assert current(cast.own_case).collector == cast.collector
    assert not AuditEvent.objects.filter(action__startswith="collectors.case.").exists()


def test_an_inactive_collector_cannot_take_cases(cast: Cast) -> None:
    cast.other_collector.is_active = False
    cast.other_collector.save()
    with pytest.raises(ValidationError, match="not active"):
        case_assign(
            actor=cast.manager, case=cast.own_case, team=cast.team, collector=cast.other_collector, reason="调案"
        )
    assert current(cast.own_case).collector == cast.collector


def test_a_closed_case_cannot_be_assigned(cast: Cast) -> None:
    closed = factories.make_case(status=CaseStatus.CURED)
    with pytest.raises(ValidationError, match="cannot be assigned"):
        case_assign(actor=cast.manager, case=closed, team=cast.team, reason="分配")
    assert not closed.assignments.exists()


def test_a_reason_is_required(cast: Cast) -> None:
    with pytest.raises(ValidationError):
        case_assign(actor=cast.manager, case=cast.own_case, team=cast.team, collector=cast.other_collector, reason=" ")


def test_a_team_lead_cannot_pull_a_case_from_another_team_and_a_collector_cannot_assign(cast: Cast) -> None:
    with pytest.raises(PermissionDenied):
        case_assign(actor=cast.supervisor, case=cast.other_team_case, team=cast.team, reason="抢案")
    with pytest.raises(PermissionDenied):
        case_assign(
            actor=cast.collector_user, case=cast.own_case, team=cast.team, collector=cast.other_collector, reason="换"
        )
    with pytest.raises(PermissionDenied):
        case_assign(actor=cast.outsider, case=cast.own_case, team=cast.team, reason="换")
    assert current(cast.other_team_case).team != cast.team
    assert current(cast.own_case).collector == cast.collector


def test_a_batch_assigns_new_cases_reassigns_others_and_leaves_one_audit_entry(cast: Cast) -> None:
    fresh = [factories.make_case() for _ in range(3)]
    batch = [PlannedAssignment(case.pk, cast.team.pk, cast.collector.pk) for case in fresh]
    batch.append(PlannedAssignment(cast.colleagues_case.pk, cast.team.pk, cast.collector.pk))
    batch.append(PlannedAssignment(cast.own_case.pk, cast.team.pk, cast.collector.pk))  # already there
    result = cases_assign_bulk(actor=cast.manager, assignments=batch, reason="批量分案")
    assert (result.assigned, result.reassigned, result.unchanged) == (3, 1, 1)
    assert visible(cast.collector_user) == {case.pk for case in fresh} | {cast.own_case.pk, cast.colleagues_case.pk}
    assert visible(cast.other_collector_user) == set()
    assert CaseAssignment.objects.filter(case=cast.colleagues_case).count() == 2
    assert current(fresh[0]).assigned_by == cast.manager
    assert current(fresh[0]).reason == "批量分案"
    event = AuditEvent.objects.get()
    assert event.action == "collectors.case.assigned_bulk"
    assert event.data["assigned"] == 3 and event.data["reassigned"] == 1
    assert event.data["by_team"] == {str(cast.team.pk): 4}


def test_one_bad_line_refuses_the_whole_batch(cast: Cast) -> None:
    fresh = factories.make_case()
    other_team = cast.other_team_case.assignments.get().team
    batch = [
        PlannedAssignment(fresh.pk, cast.team.pk, cast.collector.pk),
        PlannedAssignment(cast.own_case.pk, other_team.pk, cast.collector.pk),
    ]
    with pytest.raises(ValidationError, match="does not belong"):
        cases_assign_bulk(actor=cast.manager, assignments=batch, reason="批量分案")
    assert not fresh.assignments.exists()
    assert current(cast.own_case).team == cast.team
    assert not AuditEvent.objects.exists()


def test_a_batch_refuses_a_case_listed_twice_or_one_no_longer_in_collection(cast: Cast) -> None:
    twice = [PlannedAssignment(cast.own_case.pk, cast.team.pk), PlannedAssignment(cast.own_case.pk, cast.team.pk)]
    with pytest.raises(ValidationError, match="more than once"):
        cases_assign_bulk(actor=cast.manager, assignments=twice, reason="批量")
    closed = factories.make_case(status=CaseStatus.CLOSED)
    with pytest.raises(ValidationError, match="no longer in collection"):
        cases_assign_bulk(actor=cast.manager, assignments=[PlannedAssignment(closed.pk, cast.team.pk)], reason="批量")
    assert not closed.assignments.exists()


def test_a_team_lead_may_batch_only_within_their_own_teams(cast: Cast) -> None:
    other_team = cast.other_team_case.assignments.get().team
    with pytest.raises(PermissionDenied):
        cases_assign_bulk(
            actor=cast.supervisor,
            assignments=[PlannedAssignment(cast.other_team_case.pk, cast.team.pk)],
            reason="批量",
        )
    assert current(cast.other_team_case).team == other_team
    result = cases_assign_bulk(
        actor=cast.supervisor,
        assignments=[PlannedAssignment(cast.own_case.pk, cast.team.pk, cast.other_collector.pk)],
        reason="组内调案",
    )
    assert result.reassigned == 1
    assert cast.own_case.pk in visible(cast.other_collector_user)
