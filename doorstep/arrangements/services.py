"""Every write of arrangements: promises, plan requests and plans, approvals, and following them up.

Each public function runs in one transaction, locks what it changes, leaves an audit entry, and sends
messages only after commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.arrangements import conf, schedule
from doorstep.arrangements.models import (
    OPEN_PLAN_STATUSES,
    PLAN_TRANSITIONS,
    PROMISE_TRANSITIONS,
    FollowUpKind,
    FollowUpStatus,
    FollowUpTask,
    PlanInstalment,
    PlanKind,
    PlanRequest,
    PlanStatus,
    PromiseStatus,
    PromiseToPay,
    RepaymentPlan,
    RequestSource,
)
from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.core.money import ZERO, money
from doorstep.portfolio.models import Case, CaseStatus

logger = logging.getLogger(__name__)

__all__ = [
    "arrangements_follow",
    "plan_approve",
    "plan_cancel",
    "plan_propose",
    "plan_reject",
    "plan_request",
    "plans_follow",
    "promise_record",
    "promises_evaluate",
    "reminders_queue",
]


def _today() -> dt.date:
    return timezone.localdate()


def _user(actor: Actor) -> Any:
    return actor_fields(actor)["actor"]


def _case_locked(case: Case) -> Case:
    locked = Case.objects.select_for_update().select_related("borrower").get(pk=case.pk)
    if not locked.is_active:
        raise ValidationError(_("This case is %(status)s: nothing can be agreed on it.") % {"status": locked.get_status_display()})
    return locked


def _debt(case: Case) -> schedule.Debt:
    loans = list(case.loans.filter(is_overdue=True)) or list(case.loans.all())
    return schedule.Debt(
        overdue_principal=money(sum((loan.overdue_principal for loan in loans), ZERO)),
        overdue_interest=money(sum((loan.overdue_interest for loan in loans), ZERO)),
        penalty_interest=money(sum((loan.penalty_interest for loan in loans), ZERO)),
        remaining_principal=money(sum((loan.outstanding_principal - loan.overdue_principal for loan in loans), ZERO)),
    )


def _language(case: Case) -> str:
    language = getattr(case.borrower, "language", "") or "zh-hans"
    return "en" if language.startswith("en") else "zh-hans"


# --------------------------------------------------------------------------- promises


def promise_record(
    *,
    actor: Actor,
    case: Case,
    amount: Decimal,
    due_on: dt.date,
    channel: str,
    visit: Any = None,
    note: str = "",
) -> PromiseToPay:
    """Record that the borrower promised to pay `amount` by `due_on`; a reminder is queued before that date."""
    amount = money(amount)
    today = _today()
    if amount <= ZERO:
        raise ValidationError(_("A promise is for an amount greater than zero."))
    if due_on < today:
        raise ValidationError(_("The promised date cannot be in the past."))
    if due_on > today + dt.timedelta(days=conf.promise_max_days_ahead()):
        raise ValidationError(
            _("A promise is at most %(days)d days ahead; agree a plan for longer.") % {"days": conf.promise_max_days_ahead()}
        )
    if visit is not None and visit.case_id != case.pk:
        raise ValidationError(_("That visit belongs to another case."))
    with transaction.atomic():
        locked = _case_locked(case)
        who = actor_fields(actor)
        promise = PromiseToPay.objects.create(
            case=locked,
            amount=amount,
            due_on=due_on,
            channel=channel,
            visit=visit,
            taken_by=who["actor"],
            taken_by_label=who["actor_label"],
            note=note[:500],
        )
        audit_record(
            actor=actor,
            action="arrangements.promise.recorded",
            target=promise,
            data={"case": locked.pk, "amount": str(amount), "due_on": due_on.isoformat(), "channel": channel},
        )
        _close_follow_ups(locked, done=True)
        transaction.on_commit(lambda: _remind_promise(promise.pk, actor="system:reminders"))
    return promise


def _promise_move(promise: PromiseToPay, status: str, *, actor: Actor, paid: Decimal, today: dt.date) -> None:
    if status == promise.status:
        if promise.paid_amount != paid:
            promise.paid_amount = paid
            promise.save(update_fields=["paid_amount"])
        return
    if status not in PROMISE_TRANSITIONS[promise.status]:
        return
    previous = promise.status
    promise.status = status
    promise.paid_amount = paid
    promise.decided_on = None if status == PromiseStatus.PENDING else today
    promise.save(update_fields=["status", "paid_amount", "decided_on"])
    audit_record(
        actor=actor,
        action=f"arrangements.promise.{status}",
        target=promise,
        data={"from": previous, "paid": str(paid), "amount": str(promise.amount)},
    )


def promises_evaluate(
    *, actor: Actor, today: dt.date | None = None, case_ids: Iterable[int] | None = None
) -> dict[str, int]:
    """Judge promises by the payments that stand: kept when the amount has arrived, partly kept or broken
    after the grace period. A broken promise gets a follow-up task by the case's strategy."""
    from doorstep.payments.selectors import standing_paid

    today = today or _today()
    grace = conf.promise_grace_days()
    promises = PromiseToPay.objects.exclude(status=PromiseStatus.CANCELLED).filter(
        due_on__gte=today - dt.timedelta(days=grace + 60)
    )
    if case_ids is not None:
        promises = promises.filter(case_id__in=list(case_ids))
    counts = {"kept": 0, "partly_kept": 0, "broken": 0, "pending": 0}
    with transaction.atomic():
        for promise in promises.select_for_update().select_related("case"):
            start = timezone.make_aware(dt.datetime.combine(promise.created_at.astimezone(timezone.get_current_timezone()).date(), dt.time.min))
            end = timezone.make_aware(dt.datetime.combine(promise.due_on + dt.timedelta(days=grace + 1), dt.time.min))
            paid = standing_paid(case_id=promise.case_id, start=start, end=end)
            outcome = schedule.promise_outcome(
                amount=promise.amount, due_on=promise.due_on, paid=paid, today=today, grace_days=grace
            )
            was = promise.status
            _promise_move(promise, outcome.value, actor=actor, paid=paid, today=today)
            counts[promise.status] = counts.get(promise.status, 0) + 1
            if promise.status == PromiseStatus.BROKEN and was != PromiseStatus.BROKEN:
                _follow_up_broken(promise=promise, today=today, actor=actor)
            if promise.status == PromiseStatus.KEPT and was != PromiseStatus.KEPT:
                _close_follow_ups(promise.case, done=True, promise=promise)
    return counts


# --------------------------------------------------------------------------- follow-up tasks


def _current_collector(case: Case) -> Any:
    assignment = case.assignments.filter(ended_at__isnull=True).select_related("collector").first()
    return assignment.collector if assignment is not None else None


def _strategy_next_kind(case: Case) -> str:
    """The case strategy's next channel decides the follow-up: a visit, a call, or a reminder."""
    from doorstep.strategy.models import CaseTreatment

    treatment = CaseTreatment.objects.filter(case_id=case.pk).order_by("-business_date").first()
    channel = treatment.next_channel if treatment is not None else ""
    if channel == "visit":
        return FollowUpKind.VISIT
    if channel in ("sms", "letter", "email", "app"):
        return FollowUpKind.REMINDER
    return FollowUpKind.CALL


def _follow_up_broken(*, promise: PromiseToPay | None = None, plan: RepaymentPlan | None = None, today: dt.date, actor: Actor) -> FollowUpTask:
    case = promise.case if promise is not None else plan.case  # type: ignore[union-attr]
    kind = _strategy_next_kind(case)
    if promise is not None:
        value = money(promise.amount - promise.paid_amount)
        reason = _("Promise of %(amount)s due %(date)s was broken.") % {"amount": promise.amount, "date": promise.due_on}
        lookup = {"promise": promise}
    else:
        value = money(plan.total - plan.paid_amount)  # type: ignore[union-attr]
        reason = _("Repayment plan %(plan)s was broken.") % {"plan": plan.pk}  # type: ignore[union-attr]
        lookup = {"plan": plan}
    task, created = FollowUpTask.objects.get_or_create(
        **lookup,
        defaults={
            "case": case,
            "collector": _current_collector(case),
            "kind": kind,
            "due_on": today + dt.timedelta(days=1),
            "value": max(value, ZERO),
            "reason": reason[:300],
        },
    )
    if created:
        Case.objects.filter(pk=case.pk).update(
            next_action=f"follow_up_{kind}", next_action_on=task.due_on, updated_at=timezone.now()
        )
        audit_record(
            actor=actor,
            action="arrangements.follow_up.created",
            target=task,
            data={"case": case.pk, "kind": kind, "due_on": task.due_on.isoformat(), "value": str(task.value)},
        )
        if kind == FollowUpKind.REMINDER and promise is not None:
            transaction.on_commit(lambda: _queue(
                template="promise_broken", case_id=case.pk, key=f"arrangements:promise:{promise.pk}:broken",
                context={"amount": str(promise.amount), "due_on": promise.due_on.isoformat()}, actor=actor,
            ))
    return task


def _close_follow_ups(case: Case, *, done: bool, promise: PromiseToPay | None = None) -> None:
    tasks = FollowUpTask.objects.filter(case=case, status=FollowUpStatus.OPEN)
    if promise is not None:
        tasks = tasks.filter(promise=promise)
    tasks.update(status=FollowUpStatus.DONE if done else FollowUpStatus.CANCELLED)


def follow_up_done(*, actor: Actor, task_id: int) -> FollowUpTask:
    with transaction.atomic():
        task = FollowUpTask.objects.select_for_update().get(pk=task_id)
        if task.status != FollowUpStatus.OPEN:
            raise ValidationError(_("This task is already closed."))
        task.status = FollowUpStatus.DONE
        task.save(update_fields=["status"])
        audit_record(actor=actor, action="arrangements.follow_up.done", target=task, data={"case": task.case_id})
    return task


# --------------------------------------------------------------------------- plans


def _terms(plan: RepaymentPlan) -> conf.PlanTerms:
    return conf.PlanTerms(
        total=plan.total,
        forgiven=plan.waived + plan.discount,
        discount_percent=plan.discount_percent,
        instalments=plan.instalment_count,
        deferral_days=plan.deferral_days,
    )


def _schedule_for(
    case: Case,
    *,
    kind: str,
    count: int,
    first_due: dt.date,
    day_of_month: int | None,
    include_remaining_principal: bool,
    waive_penalty: bool,
    waive_interest: bool,
    discount_percent: Decimal,
    deferral_days: int,
) -> schedule.Schedule:
    debt = _debt(case)
    if debt.overdue_total <= ZERO:
        raise ValidationError(_("Nothing is overdue on this case."))
    try:
        if kind == PlanKind.INSTALMENTS:
            return schedule.instalment_plan(
                debt,
                count=count,
                first_due=first_due,
                day_of_month=day_of_month,
                include_remaining_principal=include_remaining_principal,
                waive_penalty=waive_penalty,
                waive_interest=waive_interest,
            )
        if kind == PlanKind.DEFERRAL:
            return schedule.deferral_plan(debt, current_due=first_due, days=deferral_days)
        if kind == PlanKind.SETTLEMENT:
            return schedule.settlement_plan(
                debt,
                discount_percent=discount_percent,
                due_on=first_due,
                include_remaining_principal=include_remaining_principal,
                instalments=count,
            )
        if kind == PlanKind.WAIVER:
            return schedule.waiver_plan(
                debt, due_on=first_due, waive_penalty=waive_penalty or not waive_interest, waive_interest=waive_interest
            )
    except schedule.ScheduleError as error:
        raise ValidationError(str(error)) from error
    raise ValidationError(_("Unknown kind of plan."))


def plan_propose(
    *,
    actor: Actor,
    case: Case,
    kind: str,
    first_due: dt.date,
    count: int = 1,
    day_of_month: int | None = None,
    include_remaining_principal: bool = False,
    waive_penalty: bool = False,
    waive_interest: bool = False,
    discount_percent: Decimal = ZERO,
    deferral_days: int = 0,
    forbearance_note: str = "",
    request: PlanRequest | None = None,
) -> RepaymentPlan:
    """Work out the plan's schedule and route it: within the proposer's own authority it is approved and
    active at once; otherwise it waits for a supervisor or manager whose authority covers it."""
    if first_due < _today():
        raise ValidationError(_("The first due date cannot be in the past."))
    with transaction.atomic():
        locked = _case_locked(case)
        if RepaymentPlan.objects.filter(case=locked, status__in=OPEN_PLAN_STATUSES).exists():
            raise ValidationError(_("This case already has an open plan; cancel it first."))
        result = _schedule_for(
            locked,
            kind=kind,
            count=count,
            first_due=first_due,
            day_of_month=day_of_month,
            include_remaining_principal=include_remaining_principal,
            waive_penalty=waive_penalty,
            waive_interest=waive_interest,
            discount_percent=money(discount_percent),
            deferral_days=deferral_days,
        )
        who = actor_fields(actor)
        plan = RepaymentPlan(
            case=locked,
            request=request,
            kind=kind,
            base=result.base,
            interest=result.interest,
            waived=result.waived,
            discount=result.discount,
            discount_percent=money(discount_percent) if kind == PlanKind.SETTLEMENT else ZERO,
            total=result.total,
            instalment_count=len(result.instalments),
            deferral_days=deferral_days if kind == PlanKind.DEFERRAL else 0,
            include_remaining_principal=include_remaining_principal,
            waive_penalty=result.waived > ZERO and (waive_penalty or kind == PlanKind.WAIVER),
            waive_interest=waive_interest,
            forbearance_considered=request is not None or bool(forbearance_note),
            forbearance_note=forbearance_note[:500],
            proposed_by=who["actor"],
            proposed_by_label=who["actor_label"],
            language=_language(locked),
        )
        plan.required_level = conf.required_level(_terms(plan))
        plan.save()
        PlanInstalment.objects.bulk_create(
            PlanInstalment(plan=plan, number=item.number, due_on=item.due_on, amount=item.amount)
            for item in result.instalments
        )
        audit_record(
            actor=actor,
            action="arrangements.plan.proposed",
            target=plan,
            data={
                "case": locked.pk,
                "kind": kind,
                "total": str(plan.total),
                "forgiven": str(plan.waived + plan.discount),
                "instalments": plan.instalment_count,
                "required_level": plan.required_level,
            },
        )
        user = who["actor"]
        if user is not None and conf.level_covers(conf.user_level(user), plan.required_level):
            _approve(plan, actor=actor, note=_("Within the proposer's authority."))
        else:
            _plan_move(plan, PlanStatus.PENDING_APPROVAL, actor=actor)
    return plan


def _plan_move(plan: RepaymentPlan, status: str, *, actor: Actor, note: str = "") -> None:
    if status not in PLAN_TRANSITIONS[plan.status]:
        raise ValidationError(
            _("A plan that is %(current)s cannot become %(target)s.")
            % {"current": plan.get_status_display(), "target": PlanStatus(status).label}
        )
    previous = plan.status
    plan.status = status
    plan.save(update_fields=["status"])
    audit_record(
        actor=actor, action=f"arrangements.plan.{status}", target=plan, data={"from": previous, "note": note[:300]}
    )


def _approve(plan: RepaymentPlan, *, actor: Actor, note: str) -> None:
    from doorstep.arrangements.documents import plan_agreement_pdf
    from doorstep.portfolio.services import case_transition

    who = actor_fields(actor)
    plan.decided_by = who["actor"]
    plan.decided_by_label = who["actor_label"]
    plan.decided_at = timezone.now()
    plan.decision_note = note[:500]
    plan.save(update_fields=["decided_by", "decided_by_label", "decided_at", "decision_note"])
    _plan_move(plan, PlanStatus.APPROVED, actor=actor, note=note)
    plan.activated_on = _today()
    plan.save(update_fields=["activated_on"])
    _plan_move(plan, PlanStatus.ACTIVE, actor=actor)
    pdf = plan_agreement_pdf(plan)
    import hashlib

    plan.agreement_pdf = pdf
    plan.agreement_sha256 = hashlib.sha256(pdf).hexdigest()
    plan.save(update_fields=["agreement_pdf", "agreement_sha256"])
    case = Case.objects.get(pk=plan.case_id)
    if case.status == CaseStatus.OPEN:
        case_transition(
            actor=actor,
            case=case,
            to_status=CaseStatus.ARRANGEMENT,
            reason=_("Repayment plan %(plan)s is active.") % {"plan": plan.pk},
        )
    if plan.request_id:
        PlanRequest.objects.filter(pk=plan.request_id).update(is_open=False)
    plan_id, total = plan.pk, str(plan.total)
    transaction.on_commit(lambda: _queue(
        template="plan_agreement", channel="letter", case_id=plan.case_id,
        key=f"arrangements:plan:{plan_id}:agreement", context={"plan_id": plan_id, "total": total}, actor=actor,
    ))


def _plan_for_decision(actor: Any, plan_id: int) -> RepaymentPlan:
    from doorstep.arrangements.selectors import plan_get

    plan = plan_get(user=actor, plan_id=plan_id)
    locked = RepaymentPlan.objects.select_for_update().select_related("case").get(pk=plan.pk)
    if not conf.level_covers(conf.user_level(actor), locked.required_level):
        raise PermissionDenied(
            _("This plan needs the approval of a %(level)s.") % {"level": locked.get_required_level_display()}
        )
    return locked


def plan_approve(*, actor: Any, plan_id: int, note: str = "") -> RepaymentPlan:
    """Approve a plan awaiting approval (the approver's authority must cover it); it becomes active, the
    case is under arrangement, and the agreement goes to the borrower by letter."""
    with transaction.atomic():
        plan = _plan_for_decision(actor, plan_id)
        if plan.status != PlanStatus.PENDING_APPROVAL:
            raise ValidationError(_("Only a plan awaiting approval can be approved."))
        _approve(plan, actor=actor, note=note)
    return plan


def plan_reject(*, actor: Any, plan_id: int, reason: str) -> RepaymentPlan:
    if not reason.strip():
        raise ValidationError(_("Say why the plan is rejected."))
    with transaction.atomic():
        plan = _plan_for_decision(actor, plan_id)
        who = actor_fields(actor)
        plan.decided_by = who["actor"]
        plan.decided_by_label = who["actor_label"]
        plan.decided_at = timezone.now()
        plan.decision_note = reason[:500]
        plan.save(update_fields=["decided_by", "decided_by_label", "decided_at", "decision_note"])
        _plan_move(plan, PlanStatus.REJECTED, actor=actor, note=reason)
    return plan


def plan_cancel(*, actor: Any, plan_id: int, reason: str) -> RepaymentPlan:
    from doorstep.arrangements.selectors import plan_get
    from doorstep.portfolio.services import case_transition

    with transaction.atomic():
        plan = RepaymentPlan.objects.select_for_update().get(pk=plan_get(user=actor, plan_id=plan_id).pk)
        was_active = plan.status == PlanStatus.ACTIVE
        plan.ended_on = _today()
        plan.save(update_fields=["ended_on"])
        _plan_move(plan, PlanStatus.CANCELLED, actor=actor, note=reason)
        case = Case.objects.get(pk=plan.case_id)
        if was_active and case.status == CaseStatus.ARRANGEMENT:
            case_transition(actor=actor, case=case, to_status=CaseStatus.OPEN, reason=reason or _("Plan cancelled."))
    return plan


def plan_request(
    *,
    actor: Actor,
    case: Case,
    monthly_income: Decimal,
    monthly_expenses: Decimal,
    dependants: int,
    proposed_monthly: Decimal | None,
    source: str,
    note: str = "",
) -> PlanRequest:
    """Record a borrower's request for a plan with its affordability check (forbearance considered), and
    propose the plan the borrower can keep, routed for approval like any other plan."""
    if source not in RequestSource.values:
        raise ValidationError(_("Unknown source of the request."))
    if dependants < 0 or money(monthly_income) < 0 or money(monthly_expenses) < 0:
        raise ValidationError(_("Income, expenses and dependants cannot be negative."))
    first_due = _today() + dt.timedelta(days=14)
    with transaction.atomic():
        locked = _case_locked(case)
        result = schedule.affordability_check(
            _debt(locked),
            income=money(monthly_income),
            expenses=money(monthly_expenses),
            dependants=dependants,
            first_due=first_due,
            asked_monthly=money(proposed_monthly) if proposed_monthly else None,
            policy=conf.affordability_policy(),
        )
        request = PlanRequest.objects.create(
            case=locked,
            source=source,
            monthly_income=result.income,
            monthly_expenses=result.expenses,
            dependants=dependants,
            proposed_monthly=money(proposed_monthly) if proposed_monthly else None,
            surplus=result.surplus,
            affordable_monthly=result.affordable_monthly,
            reasons=list(result.reasons),
            note=note[:500],
            created_by_label=actor_fields(actor)["actor_label"],
        )
        audit_record(
            actor=actor,
            action="arrangements.plan_request.recorded",
            target=request,
            data={
                "case": locked.pk,
                "source": source,
                "affordable_monthly": str(result.affordable_monthly),
                "reasons": list(result.reasons),
                "forbearance_considered": True,
            },
        )
        has_open_plan = RepaymentPlan.objects.filter(case=locked, status__in=OPEN_PLAN_STATUSES).exists()
        if result.schedule is not None and not has_open_plan:
            plan = plan_propose(
                actor=actor,
                case=locked,
                kind=PlanKind.INSTALMENTS,
                first_due=first_due,
                count=result.count,
                waive_penalty=result.waive_penalty,
                forbearance_note=_("Affordability: %(monthly)s a month affordable.")
                % {"monthly": result.affordable_monthly},
                request=request,
            )
            if plan.status == PlanStatus.ACTIVE:
                request.is_open = False
                request.save(update_fields=["is_open"])
    return request


def plans_follow(*, actor: Actor, today: dt.date | None = None, case_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Set what has been paid against each instalment of active plans; a plan with N missed instalments
    is broken (the case goes back to the strategy), a plan fully paid is completed."""
    from doorstep.payments.selectors import standing_paid
    from doorstep.portfolio.services import case_transition

    today = today or _today()
    grace = conf.instalment_grace_days()
    limit = conf.plan_broken_after_missed()
    counts = {"followed": 0, "broken": 0, "completed": 0}
    plans = RepaymentPlan.objects.filter(status=PlanStatus.ACTIVE)
    if case_ids is not None:
        plans = plans.filter(case_id__in=list(case_ids))
    with transaction.atomic():
        for plan in plans.select_for_update():
            start = timezone.make_aware(dt.datetime.combine(plan.activated_on or today, dt.time.min))
            paid = standing_paid(case_id=plan.case_id, start=start, end=None)
            instalments = list(plan.instalments.all())
            progress = schedule.instalment_progress(
                [schedule.Instalment(item.number, item.due_on, item.amount) for item in instalments],
                paid_total=paid,
                today=today,
                grace_days=grace,
            )
            by_number = {item.number: item for item in progress}
            changed = []
            for row in instalments:
                state = by_number[row.number]
                if row.paid_amount != state.paid or row.state != state.state:
                    row.paid_amount, row.state = state.paid, state.state.value
                    changed.append(row)
            PlanInstalment.objects.bulk_update(changed, ["paid_amount", "state"])
            missed = sum(1 for item in progress if item.state == schedule.InstalmentState.MISSED)
            plan.paid_amount = min(paid, plan.total)
            plan.missed_count = missed
            plan.save(update_fields=["paid_amount", "missed_count"])
            counts["followed"] += 1
            case = Case.objects.get(pk=plan.case_id)
            if all(item.state == schedule.InstalmentState.PAID for item in progress):
                plan.ended_on = today
                plan.save(update_fields=["ended_on"])
                _plan_move(plan, PlanStatus.COMPLETED, actor=actor)
                counts["completed"] += 1
                if case.status == CaseStatus.ARRANGEMENT:
                    case_transition(
                        actor=actor, case=case, to_status=CaseStatus.OPEN,
                        reason=_("Repayment plan %(plan)s completed.") % {"plan": plan.pk},
                    )
            elif missed >= limit:
                plan.ended_on = today
                plan.save(update_fields=["ended_on"])
                _plan_move(plan, PlanStatus.BROKEN, actor=actor, note=f"missed={missed}")
                counts["broken"] += 1
                if case.status == CaseStatus.ARRANGEMENT:
                    case_transition(
                        actor=actor, case=case, to_status=CaseStatus.OPEN,
                        reason=_("Repayment plan %(plan)s broken: %(missed)d instalments missed.")
                        % {"plan": plan.pk, "missed": missed},
                    )
                _follow_up_broken(plan=plan, today=today, actor=actor)
    return counts


# --------------------------------------------------------------------------- reminders


def _queue(*, template: str, case_id: int, key: str, context: dict[str, Any], actor: Actor, channel: str = "sms",
           not_before: dt.datetime | None = None) -> Any:
    """One message to the case's borrower through notify, which asks the compliance gate for the send time."""
    try:
        from doorstep.notify.services import message_queue
    except ImportError:
        logger.warning("notify is not installed; %s not queued", key)
        return None
    case = Case.objects.select_related("borrower").get(pk=case_id)
    try:
        with transaction.atomic():
            return message_queue(
                actor=actor,
                template=template,
                channel=channel,
                context={**context, "borrower_name": case.borrower.name, "case_id": case.pk},
                idempotency_key=key,
                case=case,
                borrower=case.borrower,
                not_before=not_before,
                contact=True,
            )
    except Exception:
        # The promise or plan is already committed; a message that cannot be queued must not undo the
        # answer to the collector. The daily reminders step tries again (the key keeps it to one message).
        logger.exception("message %s could not be queued", key)
        return None


def _remind_promise(promise_id: int, *, actor: Actor) -> Any:
    promise = PromiseToPay.objects.get(pk=promise_id)
    if promise.status != PromiseStatus.PENDING:
        return None
    send_on = max(promise.due_on - dt.timedelta(days=conf.reminder_days_before()), _today())
    not_before = timezone.make_aware(dt.datetime.combine(send_on, dt.time(9, 0)))
    return _queue(
        template="promise_reminder",
        case_id=promise.case_id,
        key=f"arrangements:promise:{promise.pk}:reminder",
        context={"amount": str(promise.amount), "due_on": promise.due_on.isoformat()},
        actor=actor,
        not_before=not_before,
    )


def reminders_queue(*, actor: Actor, today: dt.date | None = None) -> dict[str, int]:
    """A reminder before each pending promise and each unpaid instalment falling due within the reminder
    window. Keys make this safe to run any number of times; notify and the gate pick the send time."""
    today = today or _today()
    horizon = today + dt.timedelta(days=conf.reminder_days_before())
    queued = {"promises": 0, "instalments": 0}
    for promise_id in PromiseToPay.objects.filter(
        status=PromiseStatus.PENDING, due_on__gte=today, due_on__lte=horizon
    ).values_list("pk", flat=True):
        if _remind_promise(promise_id, actor=actor) is not None:
            queued["promises"] += 1
    instalments = PlanInstalment.objects.filter(
        plan__status=PlanStatus.ACTIVE, due_on__gte=today, due_on__lte=horizon
    ).exclude(state="paid").select_related("plan")
    for item in instalments:
        message = _queue(
            template="instalment_reminder",
            case_id=item.plan.case_id,
            key=f"arrangements:instalment:{item.pk}:reminder",
            context={"amount": str(item.amount - item.paid_amount), "due_on": item.due_on.isoformat(),
                     "number": item.number},
            actor=actor,
            not_before=timezone.make_aware(dt.datetime.combine(max(item.due_on - dt.timedelta(days=conf.reminder_days_before()), today), dt.time(9, 0))),
        )
        if message is not None:
            queued["instalments"] += 1
    return queued


def arrangements_follow(*, actor: Actor, today: dt.date | None = None, case_ids: Iterable[int] | None = None) -> dict[str, Any]:
    """Promises and plans judged against the payments that stand (after an import, or daily)."""
    ids = list(case_ids) if case_ids is not None else None
    return {
        "promises": promises_evaluate(actor=actor, today=today, case_ids=ids),
        "plans": plans_follow(actor=actor, today=today, case_ids=ids),
    }
