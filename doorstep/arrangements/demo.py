"""The demo's arrangements: promises taken by the first collector, a plan within their authority, a
settlement above it approved by their team lead, and a borrower's plan request waiting for approval."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils import timezone

from doorstep.arrangements import conf, services
from doorstep.arrangements.models import PlanKind, PlanStatus, PromiseToPay, RepaymentPlan
from doorstep.collectors.models import CaseAssignment
from doorstep.core.demo import DemoContext
from doorstep.portfolio.models import ACTIVE_CASE_STATUSES

DEMO_NOTE = "演示"
# How the demo's promised amounts compare with each case's overdue amount: kept in full, partly, broken.
PROMISE_SHARES = (Decimal("0.30"), Decimal("0.50"), Decimal("0.25"))


def demo_cases(limit: int = 8) -> list[CaseAssignment]:
    """The active cases of the collector with the most of them, most overdue first; the same on every run."""
    assignments = (
        CaseAssignment.objects.filter(
            ended_at__isnull=True, collector__isnull=False, case__status__in=ACTIVE_CASE_STATUSES,
            case__overdue_total__gt=0,
        )
        .select_related("case", "collector__user", "team__supervisor")
        .order_by("collector__badge_number", "-case__overdue_total", "case_id")
    )
    busiest = (
        assignments.order_by().values("collector_id", "collector__badge_number").annotate(cases=Count("id"))
        .order_by("-cases", "collector__badge_number").first()
    )
    if busiest is None:
        return []
    return list(assignments.filter(collector_id=busiest["collector_id"])[:limit])


def demo_run(context: DemoContext) -> None:
    if PromiseToPay.objects.filter(note=DEMO_NOTE).exists():
        context.say("arrangements: already in place")
        return
    chosen = demo_cases()
    if len(chosen) < 6:
        context.say("arrangements: too few assigned cases for the demo")
        return
    today = timezone.localdate()
    collector = chosen[0].collector.user
    lead = chosen[0].team.supervisor
    made = {"promises": 0, "plans": 0}
    for assignment, share in zip(chosen[:3], PROMISE_SHARES, strict=True):
        case = assignment.case
        services.promise_record(
            actor=collector, case=case, amount=(case.overdue_total * share).quantize(Decimal("0.01")),
            due_on=today + dt.timedelta(days=2), channel="visit", note=DEMO_NOTE,
        )
        made["promises"] += 1
    try:
        services.plan_propose(
            actor=collector, case=chosen[3].case, kind=PlanKind.INSTALMENTS, count=3,
            first_due=today + dt.timedelta(days=14), forbearance_note=DEMO_NOTE,
        )
        plan = services.plan_propose(
            actor=collector, case=chosen[4].case, kind=PlanKind.SETTLEMENT, discount_percent=Decimal("20"),
            first_due=today + dt.timedelta(days=10), forbearance_note=DEMO_NOTE,
        )
        if plan.status == PlanStatus.PENDING_APPROVAL:
            # The team lead approves what their authority covers; a bigger settlement goes to the manager.
            lead_may = lead is not None and conf.level_covers(conf.user_level(lead), plan.required_level)
            services.plan_approve(actor=lead if lead_may else context.manager, plan_id=plan.pk, note=DEMO_NOTE)
        services.plan_request(
            actor=f"borrower:{chosen[5].case.borrower_id}", case=chosen[5].case, monthly_income=Decimal("5200"),
            monthly_expenses=Decimal("2600"), dependants=1, proposed_monthly=None, source="portal", note=DEMO_NOTE,
        )
        made["plans"] = RepaymentPlan.objects.count()
    except ValidationError as error:
        context.say(f"arrangements: a demo plan was refused ({'; '.join(error.messages)})")
    context.say(f"arrangements: {made['promises']} promises, {made['plans']} plans")
