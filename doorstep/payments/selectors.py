"""Reads of payments. Case-level reads take a case the caller has already been allowed to see."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Sum

from doorstep.core.money import ZERO, money
from doorstep.payments.models import Payment, PaymentImport, PaymentState
from doorstep.portfolio.models import Case


def payments_since(*, case: Case, since: dt.date) -> list[Payment]:
    """The case's payments and reversals from `since` on (the pre-visit brief), newest first."""
    return list(
        Payment.objects.filter(case=case, paid_at__date__gte=since)
        .exclude(state=PaymentState.WAITING)
        .select_related("loan")
        .order_by("-paid_at", "-id")
    )


def standing_paid(*, case_id: int, start: dt.datetime, end: dt.datetime | None) -> Decimal:
    """What the borrower paid on the case in [start, end) and still stands (not reversed)."""
    payments = Payment.objects.filter(case_id=case_id, state=PaymentState.APPLIED, paid_at__gte=start)
    if end is not None:
        payments = payments.filter(paid_at__lt=end)
    return money(payments.aggregate(total=Sum("amount"))["total"] or ZERO)


def payment_import_list(*, limit: int = 50) -> list[PaymentImport]:
    return list(PaymentImport.objects.order_by("-started_at", "-id")[:limit])


def case_payments(*, case: Case, limit: int = 100) -> list[Payment]:
    return list(Payment.objects.filter(case=case).order_by("-paid_at", "-id")[:limit])
