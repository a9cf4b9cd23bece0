"""Promises to pay, repayment plan requests, plans with their schedules, and the follow-up tasks they create."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.collectors.models import Collector
from doorstep.portfolio.models import MONEY, Case


class PromiseChannel(models.TextChoices):
    VISIT = "visit", _("Field visit")
    CALL = "call", _("Phone call")
    PORTAL = "portal", _("Borrower portal")
    BRANCH = "branch", _("At a branch")
    SMS = "sms", _("SMS reply")


class PromiseStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    KEPT = "kept", _("Kept")
    PARTLY_KEPT = "partly_kept", _("Partly kept")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


# Payments decide: a pending promise becomes kept when the money arrives, partly kept or broken after its
# grace period. A reversal can take a kept promise back to pending (or, after the grace period, further).
PROMISE_TRANSITIONS: dict[str, frozenset[str]] = {
    PromiseStatus.PENDING: frozenset(
        {PromiseStatus.KEPT, PromiseStatus.PARTLY_KEPT, PromiseStatus.BROKEN, PromiseStatus.CANCELLED}
    ),
    PromiseStatus.KEPT: frozenset({PromiseStatus.PENDING, PromiseStatus.PARTLY_KEPT, PromiseStatus.BROKEN}),
    PromiseStatus.PARTLY_KEPT: frozenset({PromiseStatus.KEPT, PromiseStatus.BROKEN}),
    PromiseStatus.BROKEN: frozenset({PromiseStatus.KEPT, PromiseStatus.PARTLY_KEPT}),
    PromiseStatus.CANCELLED: frozenset(),
}


class PromiseToPay(models.Model):
    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="promises")
    amount = models.DecimalField(_("amount"), **MONEY)
    due_on = models.DateField(_("promised date"))
    channel = models.CharField(_("taken by"), max_length=10, choices=PromiseChannel.choices)
    visit = models.ForeignKey(
        "visits.Visit", verbose_name=_("visit"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("taken by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    taken_by_label = models.CharField(_("taken by"), max_length=150)
    note = models.CharField(_("note"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=PromiseStatus.choices, default=PromiseStatus.PENDING)
    paid_amount = models.DecimalField(_("paid towards it"), default=Decimal("0.00"), **MONEY)
    decided_on = models.DateField(_("decided"), null=True, blank=True)
    created_at = models.DateTimeField(_("made"), default=timezone.now)

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["-due_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive")]
        indexes = [models.Index(fields=["status", "due_on"], name="promise_status_due_idx")]

    def __str__(self) -> str:
        return f"{self.amount} @ {self.due_on}"


class PlanKind(models.TextChoices):
    INSTALMENTS = "instalments", _("Instalment plan")
    DEFERRAL = "deferral", _("Deferral")
    SETTLEMENT = "settlement", _("Settlement")
    WAIVER = "waiver", _("Waiver")


class PlanStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    PENDING_APPROVAL = "pending_approval", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


PLAN_TRANSITIONS: dict[str, frozenset[str]] = {
    PlanStatus.PROPOSED: frozenset({PlanStatus.PENDING_APPROVAL, PlanStatus.APPROVED, PlanStatus.CANCELLED}),
    PlanStatus.PENDING_APPROVAL: frozenset({PlanStatus.APPROVED, PlanStatus.REJECTED, PlanStatus.CANCELLED}),
    PlanStatus.APPROVED: frozenset({PlanStatus.ACTIVE, PlanStatus.CANCELLED}),
    PlanStatus.REJECTED: frozenset(),
    PlanStatus.ACTIVE: frozenset({PlanStatus.COMPLETED, PlanStatus.BROKEN, PlanStatus.CANCELLED}),
    PlanStatus.COMPLETED: frozenset(),
    PlanStatus.BROKEN: frozenset(),
    PlanStatus.CANCELLED: frozenset(),
}
OPEN_PLAN_STATUSES = (PlanStatus.PROPOSED, PlanStatus.PENDING_APPROVAL, PlanStatus.APPROVED, PlanStatus.ACTIVE)


class AuthorityLevel(models.TextChoices):
    COLLECTOR = "collector", _("Collector")
    SUPERVISOR = "supervisor", _("Team lead")
    MANAGER = "manager", _("Collections manager")


class RequestSource(models.TextChoices):
    PORTAL = "portal", _("Borrower portal")
    VISIT = "visit", _("Field visit")
    CALL = "call", _("Phone call")
    BRANCH = "branch", _("At a branch")


class PlanRequest(models.Model):
    """A borrower's ask for a plan, with the affordability check it was given (forbearance considered)."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="plan_requests")
    source = models.CharField(_("source"), max_length=10, choices=RequestSource.choices)
    monthly_income = models.DecimalField(_("monthly income"), **MONEY)
    monthly_expenses = models.DecimalField(_("monthly expenses"), **MONEY)
    dependants = models.PositiveSmallIntegerField(_("dependants"), default=0)
    proposed_monthly = models.DecimalField(_("monthly amount asked for"), null=True, blank=True, **MONEY)
    surplus = models.DecimalField(_("left each month"), **MONEY)
    affordable_monthly = models.DecimalField(_("affordable each month"), **MONEY)
    reasons = models.JSONField(_("findings"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    is_open = models.BooleanField(_("open"), default=True)
    created_by_label = models.CharField(_("recorded by"), max_length=150)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("plan request")
        verbose_name_plural = _("plan requests")
        ordering = ["-created_at", "-id"]


class RepaymentPlan(models.Model):
    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="plans")
    request = models.ForeignKey(
        PlanRequest, verbose_name=_("request"), null=True, blank=True, on_delete=models.PROTECT, related_name="plans"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=PlanKind.choices)
    status = models.CharField(_("status"), max_length=16, choices=PlanStatus.choices, default=PlanStatus.PROPOSED)
    base = models.DecimalField(_("amount covered"), **MONEY)
    interest = models.DecimalField(_("plan interest"), default=Decimal("0.00"), **MONEY)
    waived = models.DecimalField(_("waived"), default=Decimal("0.00"), **MONEY)
    discount = models.DecimalField(_("settlement discount"), default=Decimal("0.00"), **MONEY)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(_("total to pay"), **MONEY)
    instalment_count = models.PositiveSmallIntegerField(_("instalments"), default=1)
    deferral_days = models.PositiveSmallIntegerField(_("deferred by (days)"), default=0)
    include_remaining_principal = models.BooleanField(_("includes principal not yet due"), default=False)
    waive_penalty = models.BooleanField(_("penalty interest waived"), default=False)
    waive_interest = models.BooleanField(_("overdue interest waived"), default=False)
    forbearance_considered = models.BooleanField(_("forbearance considered"), default=False)
    forbearance_note = models.CharField(_("forbearance note"), max_length=500, blank=True)
    required_level = models.CharField(_("approval needed from"), max_length=12, choices=AuthorityLevel.choices)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_by_label = models.CharField(_("proposed by"), max_length=150)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by_label = models.CharField(_("decided by"), max_length=150, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)
    activated_on = models.DateField(_("active since"), null=True, blank=True)
    ended_on = models.DateField(_("ended"), null=True, blank=True)
    paid_amount = models.DecimalField(_("paid under the plan"), default=Decimal("0.00"), **MONEY)
    missed_count = models.PositiveSmallIntegerField(_("missed instalments"), default=0)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    agreement_pdf = models.BinaryField(null=True, blank=True, editable=False)
    agreement_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("proposed"), default=timezone.now)

    class Meta:
        verbose_name = _("repayment plan")
        verbose_name_plural = _("repayment plans")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("propose_plan", _("Can propose repayment plans and record promises")),
            ("approve_plan", _("Can approve repayment plans within their authority")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="plan_total_not_negative"),
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="active"), name="one_active_plan_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    def can_move_to(self, status: str) -> bool:
        return status in PLAN_TRANSITIONS[self.status]


class PlanInstalment(models.Model):
    plan = models.ForeignKey(RepaymentPlan, on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField(_("number"))
    due_on = models.DateField(_("due"))
    amount = models.DecimalField(_("amount"), **MONEY)
    paid_amount = models.DecimalField(_("paid"), default=Decimal("0.00"), **MONEY)
    state = models.CharField(_("state"), max_length=12, default="due")

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["plan", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="one_instalment_number_per_plan")]


class FollowUpKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Plan a visit")
    REMINDER = "reminder", _("Send a reminder")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("To do")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class FollowUpTask(models.Model):
    """The next thing a collector has to do on a case after a promise or plan went wrong."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="follow_ups")
    collector = models.ForeignKey(
        Collector, verbose_name=_("collector"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("to do"), max_length=10, choices=FollowUpKind.choices)
    due_on = models.DateField(_("by"))
    value = models.DecimalField(_("amount at stake"), **MONEY)
    reason = models.CharField(_("why"), max_length=300)
    promise = models.ForeignKey(PromiseToPay, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(RepaymentPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        ordering = ["due_on", "-value", "id"]
        constraints = [
            models.UniqueConstraint(fields=["promise"], condition=Q(promise__isnull=False), name="one_follow_up_per_promise"),
            models.UniqueConstraint(fields=["plan"], condition=Q(plan__isnull=False), name="one_follow_up_per_plan"),
        ]
