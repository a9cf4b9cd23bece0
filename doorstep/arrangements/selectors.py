"""Reads of arrangements, scoped to who asks through the portfolio's case visibility."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from doorstep.arrangements import conf
from doorstep.arrangements.models import (
    FollowUpStatus,
    FollowUpTask,
    PlanInstalment,
    PlanRequest,
    PlanStatus,
    PromiseStatus,
    PromiseToPay,
    RepaymentPlan,
)
from doorstep.portfolio.models import Case
from doorstep.portfolio.selectors import case_list


@dataclass(frozen=True)
class CaseArrangements:
    promises: list[PromiseToPay]
    plans: list[RepaymentPlan]
    open_requests: list[PlanRequest]

    @property
    def active_plan(self) -> RepaymentPlan | None:
        return next((plan for plan in self.plans if plan.status == PlanStatus.ACTIVE), None)

    @property
    def pending_promise(self) -> PromiseToPay | None:
        return next((item for item in self.promises if item.status == PromiseStatus.PENDING), None)


def case_arrangements(*, case: Case) -> CaseArrangements:
    """A case's promises, plans with their instalments, and open plan requests (portal, pre-visit brief).

    The caller has already decided the case may be seen."""
    plans = (
        RepaymentPlan.objects.filter(case=case)
        .defer("agreement_pdf")
        .prefetch_related(Prefetch("instalments", queryset=PlanInstalment.objects.order_by("number")))
    )
    return CaseArrangements(
        promises=list(PromiseToPay.objects.filter(case=case)),
        plans=list(plans),
        open_requests=list(PlanRequest.objects.filter(case=case, is_open=True)),
    )


def _visible_cases(user: Any) -> QuerySet[Case]:
    return case_list(user=user)


def plan_get(*, user: Any, plan_id: int) -> RepaymentPlan:
    plan = (
        RepaymentPlan.objects.filter(pk=plan_id, case__in=_visible_cases(user))
        .select_related("case", "case__borrower")
        .first()
    )
    if plan is None:
        raise Http404("no such plan")
    return plan


def approval_queue(*, user: Any) -> QuerySet[RepaymentPlan]:
    """Plans awaiting approval that this user's authority covers, on cases this user can see."""
    level = conf.user_level(user)
    if level is None:
        return RepaymentPlan.objects.none()
    levels = conf.LEVELS[: conf.LEVELS.index(level) + 1]
    return (
        RepaymentPlan.objects.filter(
            status=PlanStatus.PENDING_APPROVAL, required_level__in=levels, case__in=_visible_cases(user)
        )
        .defer("agreement_pdf")
        .select_related("case", "case__borrower")
        .order_by("created_at", "id")
    )


def follow_up_list(*, user: Any) -> QuerySet[FollowUpTask]:
    """Open follow-up tasks on the user's cases, by date and then the amount at stake (largest first)."""
    return (
        FollowUpTask.objects.filter(status=FollowUpStatus.OPEN, case__in=_visible_cases(user))
        .select_related("case", "case__borrower", "collector", "collector__user", "promise")
        .order_by("due_on", "-value", "id")
    )


def broken_promises(*, user: Any, limit: int = 200) -> QuerySet[PromiseToPay]:
    return (
        PromiseToPay.objects.filter(
            Q(status=PromiseStatus.BROKEN) | Q(status=PromiseStatus.PARTLY_KEPT), case__in=_visible_cases(user)
        )
        .select_related("case", "case__borrower")
        .order_by("-due_on", "-amount")[:limit]
    )


def follow_up_get(*, user: Any, task_id: int) -> FollowUpTask:
    task = FollowUpTask.objects.filter(pk=task_id, case__in=_visible_cases(user)).first()
    if task is None:
        raise Http404("no such task")
    return task
