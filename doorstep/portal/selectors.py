"""What a signed-in borrower may read. Every read starts from the borrower the portal link belongs to:
nothing here takes an id from the request without checking it belongs to that borrower."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from doorstep.core.money import ZERO
from doorstep.portfolio.models import ACTIVE_CASE_STATUSES, Borrower, Case, Loan
from doorstep.visits.models import OPEN_VISIT_STATUSES, Visit, VisitStatus

# Affordability findings (arrangements' reason codes) as the borrower reads them.
AFFORDABILITY_FINDINGS: dict[str, Promise] = {
    "asked_above_affordable": _("The monthly amount you asked for is more than your budget leaves free."),
    "below_minimum_instalment": _("What your budget leaves free is below the smallest instalment the bank accepts."),
    "penalty_waived_to_fit": _("The penalty interest would be waived so that the plan fits your budget."),
    "not_affordable_within_max_instalments": _(
        "No instalment plan within the bank's limits fits your budget; a member of staff will look at other help."
    ),
}


@dataclass(frozen=True)
class LoanLine:
    loan_number: str
    product: str
    overdue_principal: Decimal
    overdue_interest: Decimal
    penalty_interest: Decimal
    days_past_due: int
    first_unpaid_due_date: dt.date | None

    @property
    def overdue_total(self) -> Decimal:
        return self.overdue_principal + self.overdue_interest + self.penalty_interest


@dataclass(frozen=True)
class Debt:
    case: Case
    loans: list[LoanLine]
    as_of: dt.date
    overdue_principal: Decimal = ZERO
    overdue_interest: Decimal = ZERO
    penalty_interest: Decimal = ZERO
    findings: list[str] = field(default_factory=list)

    @property
    def overdue_total(self) -> Decimal:
        return self.overdue_principal + self.overdue_interest + self.penalty_interest


def mask_loan_number(value: str) -> str:
    return ("*" * max(len(value) - 4, 0)) + value[-4:]


def borrower_case(*, borrower: Borrower) -> Case | None:
    """The borrower's case in collection, else the latest one."""
    cases = Case.objects.filter(borrower=borrower)
    return (
        cases.filter(status__in=ACTIVE_CASE_STATUSES).order_by("-opened_on", "-pk").first()
        or cases.order_by("-opened_on", "-pk").first()
    )


def borrower_debt(*, borrower: Borrower) -> Debt | None:
    """What is owed and why, loan by loan, as of the bank's latest snapshot."""
    case = borrower_case(borrower=borrower)
    if case is None:
        return None
    loans = [
        LoanLine(
            loan_number=mask_loan_number(loan.loan_id),
            product=loan.product_code,
            overdue_principal=loan.overdue_principal,
            overdue_interest=loan.overdue_interest,
            penalty_interest=loan.penalty_interest,
            days_past_due=loan.days_past_due,
            first_unpaid_due_date=loan.first_unpaid_due_date,
        )
        for loan in Loan.objects.filter(case=case, borrower=borrower, is_overdue=True).order_by("loan_id")
    ]
    if not loans:
        return Debt(case, [], case.snapshot_date, case.overdue_principal, case.overdue_interest, case.penalty_interest)
    return Debt(
        case=case,
        loans=loans,
        as_of=case.snapshot_date,
        overdue_principal=sum((line.overdue_principal for line in loans), ZERO),
        overdue_interest=sum((line.overdue_interest for line in loans), ZERO),
        penalty_interest=sum((line.penalty_interest for line in loans), ZERO),
    )


def borrower_visits(*, borrower: Borrower) -> QuerySet[Visit]:
    from doorstep.visits import selectors as visit_selectors

    return visit_selectors.borrower_visits(borrower_id=borrower.pk)


def upcoming_visits(*, borrower: Borrower, now: dt.datetime | None = None) -> list[Visit]:
    now = now or timezone.now()
    return sorted(
        (
            visit
            for visit in borrower_visits(borrower=borrower).filter(status__in=OPEN_VISIT_STATUSES)
            if visit.window_end >= now
        ),
        key=lambda visit: visit.window_start,
    )


def past_visits(*, borrower: Borrower) -> list[Visit]:
    return list(borrower_visits(borrower=borrower).filter(status=VisitStatus.COMPLETED)[:20])


def visit_get(*, borrower: Borrower, visit_id: int) -> Visit:
    """One of the borrower's own visits; any other id is "not found"."""
    visit = borrower_visits(borrower=borrower).filter(pk=visit_id).first()
    if visit is None:
        raise Http404("no such visit")
    return visit


def rated_visit_ids(*, borrower: Borrower) -> set[int]:
    from doorstep.feedback.models import VisitRating

    return set(VisitRating.objects.filter(visit__borrower=borrower).values_list("visit_id", flat=True))


def complaints(*, borrower: Borrower) -> list[Any]:
    from doorstep.feedback.selectors import borrower_complaints

    return list(borrower_complaints(borrower=borrower)[:50])


def arrangements(*, case: Case) -> Any:
    from doorstep.arrangements.selectors import case_arrangements

    return case_arrangements(case=case)


def bank_name() -> str:
    return str(getattr(settings, "DOORSTEP_BANK_NAME", "") or pgettext_lazy("portal", "Borrower services"))


def bank_hotline() -> str:
    return str(getattr(settings, "DOORSTEP_BANK_HOTLINE", "95580"))


@dataclass(frozen=True)
class PaymentWay:
    title: str
    detail: str


def payment_ways() -> list[PaymentWay]:
    """The bank's official ways to pay: setting DOORSTEP_PORTAL_PAYMENT_WAYS, a list of (title, detail)."""
    configured = getattr(settings, "DOORSTEP_PORTAL_PAYMENT_WAYS", None)
    if configured:
        return [PaymentWay(str(title), str(detail)) for title, detail in configured]
    hotline = bank_hotline()
    return [
        PaymentWay(
            str(pgettext_lazy("portal", "Mobile banking")),
            str(_("In the bank's official mobile banking app: Loans → Repay. The money goes straight to your loan.")),
        ),
        PaymentWay(
            str(_("Any branch of the bank")),
            str(_("At the counter or a self-service machine of any branch; bring your ID card.")),
        ),
        PaymentWay(
            str(pgettext_lazy("portal", "Automatic debit")),
            str(_("From your own account at the bank, by the standing instruction in your loan contract.")),
        ),
        PaymentWay(
            str(pgettext_lazy("portal", "Official hotline")),
            str(_("Call %(hotline)s to ask how to pay or to check a payment.") % {"hotline": hotline}),
        ),
    ]
