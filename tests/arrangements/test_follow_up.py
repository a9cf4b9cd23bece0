"""The follow-up loop: reminders through notify inside the gate's windows, the daily step, and a cured case's
visits cancelled."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from doorstep.arrangements.daily import follow_up_step
from doorstep.arrangements.models import PlanKind
from doorstep.arrangements.services import plan_propose, promise_record, reminders_queue
from doorstep.notify.models import Message
from doorstep.payments.services import payments_import
from doorstep.strategy.flows import DAILY_STEPS
from doorstep.visits.models import VisitStatus
from tests.visits.field_factories import make_crew, make_visit

TODAY = timezone.localdate()


def test_a_reminder_goes_before_each_promise_and_instalment_once(cast) -> None:
    promise = promise_record(
        actor=cast.collector_user, case=cast.own_case, amount=Decimal("500"), due_on=TODAY + dt.timedelta(days=2),
        channel="visit",
    )
    plan_propose(actor=cast.collector_user, case=cast.colleagues_case, kind=PlanKind.INSTALMENTS, count=2,
                 first_due=TODAY + dt.timedelta(days=1))
    queued = reminders_queue(actor="system:daily", today=TODAY)
    assert queued == {"promises": 1, "instalments": 1}
    reminder = Message.objects.get(idempotency_key=f"arrangements:promise:{promise.pk}:reminder")
    assert reminder.template == "promise_reminder" and reminder.case == cast.own_case and reminder.is_contact
    assert "500.00" in reminder.body
    # Never before the gate allows it, and never twice.
    assert reminder.send_after >= timezone.now() - dt.timedelta(minutes=1)
    reminders_queue(actor="system:daily", today=TODAY)
    assert Message.objects.filter(template__in=["promise_reminder", "instalment_reminder"]).count() == 2


def test_payments_and_promises_are_daily_steps_in_that_order() -> None:
    names = [step.name for step in DAILY_STEPS]
    assert names.index("intake") < names.index("strategy") < names.index("payments") < names.index("arrangements")


def test_the_daily_step_judges_promises_and_queues_reminders(cast) -> None:
    promise_record(actor=cast.collector_user, case=cast.own_case, amount=Decimal("100"), due_on=TODAY, channel="call")

    class Run:
        business_date = TODAY + dt.timedelta(days=10)
        options: dict = {}

    summary = follow_up_step(Run(), "system:daily")
    assert summary["promises"]["broken"] == 1


def test_a_cured_case_has_its_planned_visits_cancelled(cast, tmp_path: Path) -> None:
    crew = make_crew(cast.collector)
    visit = make_visit(cast.own_case, crew, timezone.now() + dt.timedelta(days=2))
    loan = cast.own_case.loans.get()
    path = tmp_path / "paid.csv"
    path.write_text(f"txn_id,loan_id,amount,paid_at,channel\nC1,{loan.loan_id},3170.50,{timezone.now().isoformat()},counter\n")
    payments_import(actor=None, path=path)
    visit.refresh_from_db()
    assert visit.status == VisitStatus.CANCELLED
