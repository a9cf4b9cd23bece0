"""Payments from the bank's files, how each was allocated to a loan's debts, and the imports that brought them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doorstep.portfolio.models import MONEY, Case, Loan


class PaymentState(models.TextChoices):
    APPLIED = "applied", _("Applied")
    REVERSED = "reversed", _("Reversed")
    REVERSAL = "reversal", _("Reversal")
    WAITING = "waiting", _("Reversal waiting for its payment")


class PaymentImport(models.Model):
    """One import of a payments file (or of payments sent over the API), and what it added."""

    file_name = models.CharField(_("file"), max_length=255)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    rows = models.IntegerField(_("rows"))
    payments_added = models.IntegerField(_("payments added"), default=0)
    reversals_added = models.IntegerField(_("reversals added"), default=0)
    reversals_waiting = models.IntegerField(_("reversals waiting"), default=0)
    duplicates_skipped = models.IntegerField(_("already imported"), default=0)
    cases_cured = models.IntegerField(_("cases cured"), default=0)
    warnings = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    imported_by_label = models.CharField(_("by"), max_length=150)

    class Meta:
        verbose_name = _("payments import")
        verbose_name_plural = _("payments imports")
        ordering = ["-started_at", "-id"]
        permissions = [("import_payments", _("Can import payments files"))]

    def __str__(self) -> str:
        return self.file_name

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


class AllocationComponent(models.TextChoices):
    """What a payment (or, negative, a reversal) can go to, in the names the waterfall uses."""

    PENALTY = "penalty", _("Penalty interest")
    INTEREST = "interest", _("Overdue interest")
    PRINCIPAL = "principal", _("Overdue principal")
    OUTSTANDING = "outstanding", _("Principal not yet due")
    EXCESS = "excess", _("Overpayment held")


# The payment's column holding what went to each component.
ALLOCATED = {component.value: f"allocated_{component.value}" for component in AllocationComponent}


def _allocated(component: AllocationComponent) -> models.DecimalField:
    return models.DecimalField(component.label, default=Decimal("0.00"), **MONEY)


class Payment(models.Model):
    """A transaction of the bank on one loan. Reversals are rows too, negative, naming what they reverse.

    The ``allocated_*`` columns say how the waterfall shared the amount among the loan's debts; they add up to
    the amount, except for a reversal still waiting for its payment, which has allocated nothing yet.
    """

    txn_id = models.CharField(_("transaction"), max_length=64)
    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="payments")
    case = models.ForeignKey(
        Case, verbose_name=_("case"), null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    paid_at = models.DateTimeField(_("paid at"))
    channel = models.CharField(_("channel"), max_length=32)
    reversal_of = models.CharField(_("reverses"), max_length=64, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=PaymentState.choices)
    allocated_penalty = _allocated(AllocationComponent.PENALTY)
    allocated_interest = _allocated(AllocationComponent.INTEREST)
    allocated_principal = _allocated(AllocationComponent.PRINCIPAL)
    allocated_outstanding = _allocated(AllocationComponent.OUTSTANDING)
    allocated_excess = _allocated(AllocationComponent.EXCESS)
    payment_import = models.ForeignKey(PaymentImport, on_delete=models.PROTECT, related_name="payments")

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["txn_id"], name="payment_txn_id_unique"),
            models.CheckConstraint(
                condition=(Q(amount__gt=0) & Q(reversal_of="")) | (Q(amount__lt=0) & ~Q(reversal_of="")),
                name="payment_sign_matches_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["case", "paid_at"], name="payment_case_paid_idx"),
            models.Index(fields=["reversal_of"], name="payment_reversal_of_idx"),
        ]

    def __str__(self) -> str:
        return self.txn_id

    @property
    def is_reversal(self) -> bool:
        return bool(self.reversal_of)

    @property
    def allocations(self) -> list[tuple[AllocationComponent, Decimal]]:
        """(what it went to, how much) for each debt the payment or reversal moved, in waterfall order of
        components; `.label` names a component for people."""
        return [
            (component, getattr(self, ALLOCATED[component.value]))
            for component in AllocationComponent
            if getattr(self, ALLOCATED[component.value])
        ]
