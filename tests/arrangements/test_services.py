"""Promises and plans as the cast lives them: recorded, routed for approval, kept or broken by payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from doorstep.arrangements import selectors
from doorstep.arrangements.models import (
    FollowUpKind,
    FollowUpTask,
    PlanKind,
    PlanStatus,
    PromiseStatus,
    RepaymentPlan,
)
from doorstep.arrangements.services import (
    plan_approve,
    plan_propose,
    plan_reject,
    plan_request,
    plans_follow,
    promise_record,
    promises_evaluate,
)
from doorstep.core.models import AuditEvent
from doorstep.payments.services import payments_import
from doorstep.portfolio.models import CaseStatus

TODAY = timezone.localdate()


def pay(tmp_path: Path, case, amount: str, txn: str, when: dt.datetime | None = None) -> None:
    loan = case.loans.get()
    paid_at = (when or timezone.now()).isoformat()
    path = tmp_path / f"{txn}.csv"
    path.write_text(f"txn_id,loan_id,amount,paid_at,channel\n{txn},{loan.loan_id},{amount},{paid_at},counter\n")
    payments_import(actor=None, path=path)


def test_a_promise_is_kept_when_the_money_arrives(cast, tmp_path) -> None:
    promise = promise_record(
        actor=cast.collector_user, case=cast.own_case, amount=Decimal("500"), due_on=TODAY + dt.timedelta(days=3),
        channel="visit", note="工资到账后",
    )
    assert promise.status == PromiseStatus.PENDING and promise.taken_by == cast.collector_user
    pay(tmp_path, cast.own_case, "300.00", "P1")
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.PENDING and promise.paid_amount == Decimal("300.00")
    pay(tmp_path, cast.own_case, "200.00", "P2")
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.KEPT
    assert AuditEvent.objects.filter(action="arrangements.promise.kept", object_id=str(promise.pk)).exists()


def test_a_broken_promise_schedules_the_next_action(cast) -> None:
    promise = promise_record(
        actor=cast.collector_user, case=cast.own_case, amount=Decimal("500"), due_on=TODAY, channel="call"
    )
    promises_evaluate(actor="system:daily", today=TODAY + dt.timedelta(days=3))
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.PENDING
    promises_evaluate(actor="system:daily", today=TODAY + dt.timedelta(days=4))
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.BROKEN
    task = FollowUpTask.objects.get(promise=promise)
    assert task.kind == FollowUpKind.CALL and task.collector == cast.collector and task.value == Decimal("500.00")
    cast.own_case.refresh_from_db()
    assert cast.own_case.next_action == "follow_up_call"
    # The follow-up list: the collector sees it, the colleague does not.
    assert list(selectors.follow_up_list(user=cast.collector_user)) == [task]
    assert list(selectors.follow_up_list(user=cast.other_collector_user)) == []
    assert list(selectors.broken_promises(user=cast.supervisor)) == [promise]


@pytest.mark.parametrize(
    ("amount", "due_in"), [("0", 1), ("-5", 1), ("100", -1), ("100", 400)]
)
def test_impossible_promises_are_refused(cast, amount, due_in) -> None:
    with pytest.raises(ValidationError):
        promise_record(
            actor=cast.collector_user, case=cast.own_case, amount=Decimal(amount),
            due_on=TODAY + dt.timedelta(days=due_in), channel="call",
        )


def test_a_plan_within_the_collectors_authority_is_active_at_once(cast) -> None:
    plan = plan_propose(
        actor=cast.collector_user, case=cast.own_case, kind=PlanKind.INSTALMENTS, count=3,
        first_due=TODAY + dt.timedelta(days=10),
    )
    assert plan.status == PlanStatus.ACTIVE and plan.total == Decimal("3170.50")
    assert sum(item.amount for item in plan.instalments.all()) == plan.total
    assert plan.agreement_pdf and bytes(plan.agreement_pdf).startswith(b"%PDF")
    cast.own_case.refresh_from_db()
    assert cast.own_case.status == CaseStatus.ARRANGEMENT


def test_a_plan_above_the_collectors_authority_waits_for_the_supervisor(cast) -> None:
    plan = plan_propose(
        actor=cast.collector_user, case=cast.own_case, kind=PlanKind.SETTLEMENT,
        discount_percent=Decimal("20"), first_due=TODAY + dt.timedelta(days=7), include_remaining_principal=False,
    )
    assert plan.status == PlanStatus.PENDING_APPROVAL and plan.required_level == "supervisor"
    assert list(selectors.approval_queue(user=cast.collector_user)) == []
    assert list(selectors.approval_queue(user=cast.supervisor)) == [plan]
    with pytest.raises(PermissionDenied):
        plan_approve(actor=cast.collector_user, plan_id=plan.pk)
    with pytest.raises(Http404):
        plan_approve(actor=cast.outsider, plan_id=plan.pk)
    plan_approve(actor=cast.supervisor, plan_id=plan.pk, note="困难客户")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE and plan.decided_by == cast.supervisor
    assert AuditEvent.objects.filter(action="arrangements.plan.approved", object_id=str(plan.pk), actor=cast.supervisor).exists()
    cast.own_case.refresh_from_db()
    assert cast.own_case.status == CaseStatus.ARRANGEMENT


def test_a_rejection_needs_a_reason_and_is_audited(cast) -> None:
    plan = plan_propose(
        actor=cast.collector_user, case=cast.own_case, kind=PlanKind.SETTLEMENT,
        discount_percent=Decimal("40"), first_due=TODAY + dt.timedelta(days=7),
    )
    assert plan.required_level == "manager"
    with pytest.raises(PermissionDenied):
        plan_reject(actor=cast.supervisor, plan_id=plan.pk, reason="太多")
    with pytest.raises(ValidationError):
        plan_reject(actor=cast.manager, plan_id=plan.pk, reason=" ")
    plan_reject(actor=cast.manager, plan_id=plan.pk, reason="折扣过高")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.REJECTED
    assert AuditEvent.objects.filter(action="arrangements.plan.rejected", object_id=str(plan.pk)).exists()


def test_a_plan_request_records_affordability_and_proposes_a_plan(cast) -> None:
    request = plan_request(
        actor=f"borrower:{cast.own_case.borrower_id}", case=cast.own_case, monthly_income=Decimal("6000"),
        monthly_expenses=Decimal("3500"), dependants=1, proposed_monthly=None, source="portal",
    )
    assert request.affordable_monthly == Decimal("1020.00")
    plan = RepaymentPlan.objects.get(request=request)
    # A borrower cannot approve their own plan: it waits for the collector.
    assert plan.status == PlanStatus.PENDING_APPROVAL and plan.forbearance_considered
    assert plan.instalment_count == 4
    view = selectors.case_arrangements(case=cast.own_case)
    assert view.open_requests == [request] and view.plans == [plan]


def test_a_plan_with_missed_instalments_is_broken_and_the_case_reopens(cast, tmp_path, settings) -> None:
    settings.DOORSTEP_PLAN_BROKEN_AFTER_MISSED = 2
    plan = plan_propose(
        actor=cast.collector_user, case=cast.own_case, kind=PlanKind.INSTALMENTS, count=3,
        first_due=TODAY + dt.timedelta(days=1),
    )
    first = plan.instalments.get(number=1)
    pay(tmp_path, cast.own_case, str(first.amount), "I1")
    plans_follow(actor="system:daily", today=TODAY + dt.timedelta(days=40))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE and plan.missed_count == 1
    plans_follow(actor="system:daily", today=TODAY + dt.timedelta(days=75))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.BROKEN
    cast.own_case.refresh_from_db()
    assert cast.own_case.status == CaseStatus.OPEN
    assert FollowUpTask.objects.filter(plan=plan).exists()


def test_a_plan_paid_in_full_is_completed(cast, tmp_path) -> None:
    plan = plan_propose(
        actor=cast.collector_user, case=cast.own_case, kind=PlanKind.INSTALMENTS, count=2,
        first_due=TODAY + dt.timedelta(days=1),
    )
    pay(tmp_path, cast.own_case, "3170.50", "FULL")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED
    cast.own_case.refresh_from_db()
    assert cast.own_case.status == CaseStatus.CURED


def test_only_one_open_plan_per_case(cast) -> None:
    plan_propose(actor=cast.collector_user, case=cast.own_case, kind=PlanKind.INSTALMENTS, count=2,
                 first_due=TODAY + dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        plan_propose(actor=cast.collector_user, case=cast.own_case, kind=PlanKind.DEFERRAL, deferral_days=10,
                     first_due=TODAY + dt.timedelta(days=1))
