"""The demo's payments: a file made from the demo loans, imported through the real import.

It pays the first demo promise in full and part of the second, the first instalment of the demo plan,
a payment and its reversal on another case, everything overdue on one case (which is cured), and part of
the overdue amount on a sample of other loans. Transaction ids are fixed, so a second run adds nothing.
"""

from __future__ import annotations

import csv
import random
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from doorstep.arrangements.demo import DEMO_NOTE, demo_cases
from doorstep.arrangements.models import PlanStatus, PromiseToPay, RepaymentPlan
from doorstep.core.demo import DEMO_ACTOR, DemoContext
from doorstep.payments.models import PaymentImport
from doorstep.payments.services import PaymentsRejected, payments_import
from doorstep.portfolio.models import Case, Loan

CHANNELS = ("mobile_banking", "counter", "transfer", "wechat_pay", "alipay", "auto_debit")
SAMPLE_SHARE = 0.05


def _first_loan(case: Case) -> Loan | None:
    return case.loans.filter(is_overdue=True).order_by("-overdue_principal", "loan_id").first()


def demo_rows(seed: int, prefix: str) -> list[dict[str, str]]:
    now = timezone.localtime().replace(microsecond=0)
    paid_at = now.isoformat()
    rows: list[dict[str, str]] = []
    used: set[int] = set()

    def pay(loan: Loan, amount: Decimal, tag: str, channel: str = "mobile_banking") -> str:
        txn = f"{prefix}-{tag}-{loan.loan_id}"
        rows.append({"txn_id": txn, "loan_id": loan.loan_id, "amount": f"{amount:.2f}", "currency": loan.currency,
                     "paid_at": paid_at, "channel": channel, "reversal_of": ""})
        used.add(loan.pk)
        return txn

    promises = list(PromiseToPay.objects.filter(note=DEMO_NOTE).order_by("id"))
    for promise, share in zip(promises[:2], (Decimal("1"), Decimal("0.4")), strict=False):
        loan = _first_loan(promise.case)
        if loan is not None:
            pay(loan, min((promise.amount * share).quantize(Decimal("0.01")), loan.overdue_amount), "PTP")
    plan = RepaymentPlan.objects.filter(forbearance_note=DEMO_NOTE, status=PlanStatus.ACTIVE, kind="instalments").first()
    if plan is not None:
        first = plan.instalments.order_by("number").first()
        loan = _first_loan(plan.case)
        if first is not None and loan is not None:
            pay(loan, min(first.amount, loan.overdue_amount), "PLAN", "auto_debit")
    chosen = demo_cases()
    if len(chosen) >= 8:
        loan = _first_loan(chosen[6].case)
        if loan is not None:
            original = pay(loan, min(Decimal("500.00"), loan.overdue_amount), "BOUNCED", "transfer")
            rows.append({**rows[-1], "txn_id": f"{prefix}-REV-{loan.loan_id}", "amount": f"-{rows[-1]['amount']}",
                         "reversal_of": original})
        for loan in chosen[7].case.loans.filter(is_overdue=True):
            pay(loan, loan.overdue_amount, "PAIDUP", "counter")
    random_source = random.Random(seed)
    others = Loan.objects.filter(is_overdue=True, case__isnull=False).exclude(pk__in=used).order_by("id")
    for loan in others.only("pk", "loan_id", "currency", "overdue_principal", "overdue_interest", "penalty_interest"):
        if random_source.random() >= SAMPLE_SHARE:
            continue
        share = Decimal(random_source.choice((10, 20, 25, 40, 50))) / 100
        amount = (loan.overdue_amount * share).quantize(Decimal("0.01"))
        if amount > 0:
            pay(loan, amount, "PAY", random_source.choice(CHANNELS))
    return rows


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def demo_run(context: DemoContext) -> None:
    directory = Path(settings.DOORSTEP_DEMO_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"payments-{context.snapshot_date.isoformat()}-{context.accounts}-{context.seed}"
    path = directory / f"{name}.csv"
    if not path.exists():
        rows = demo_rows(context.seed, f"D{context.snapshot_date:%Y%m%d}")
        if not rows:
            context.say("payments: no demo loans to pay")
            return
        _write(path, rows)
    try:
        result = payments_import(actor=DEMO_ACTOR, path=path)
    except PaymentsRejected as rejected:
        # A file kept from another demo database: make this database its own.
        context.say(f"payments: the kept demo file does not fit this database ({rejected.total} problem(s)); made anew")
        rows = demo_rows(context.seed, f"D{context.snapshot_date:%Y%m%d}-{PaymentImport.objects.count() + 1}")
        if not rows:
            return
        _write(path, rows)
        result = payments_import(actor=DEMO_ACTOR, path=path)
    if getattr(result, "already_imported", False):
        context.say("payments: already imported")
        return
    context.say(
        f"payments: {result.payments_added} payments, {result.reversals_added} reversal(s), "
        f"{result.cases_cured} case(s) cured"
    )
