"""The facts read what the other apps record — payments, promises, complaints, messages — each as known
at the end of the day asked for."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from doorstep.arrangements.models import PromiseToPay
from doorstep.feedback.models import Complaint
from doorstep.notify.models import Message
from doorstep.payments.models import Payment, PaymentImport
from doorstep.reports import facts
from tests.conftest import Cast

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONTH = dt.date(2026, 11, 1)


def at(day: int, hour: int = 10, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def _import(finished: dt.datetime) -> PaymentImport:
    return PaymentImport.objects.create(
        file_name="pay.csv", file_sha256=str(finished.timestamp()), rows=1, started_at=finished, finished_at=finished,
        imported_by_label="test",
    )


def _pay(case, amount: str, paid: dt.datetime, imported: dt.datetime, txn: str, reversal_of: str = "") -> Payment:
    return Payment.objects.create(
        txn_id=txn, loan=case.loans.first(), case=case, amount=Decimal(amount), paid_at=paid, channel="counter",
        reversal_of=reversal_of, state="reversal" if reversal_of else "applied", payment_import=_import(imported),
    )


def _row(frame, case) -> dict:
    return next(row for row in frame.to_dicts() if row["case_id"] == case.pk)


@pytest.fixture
def november(cast: Cast) -> Cast:
    from doorstep.portfolio.models import Case

    Case.objects.update(opened_on=dt.date(2026, 10, 20))
    return cast


def test_collected_counts_payments_and_reversals_once_their_file_is_imported(november: Cast) -> None:
    case = november.own_case
    _pay(case, "500.00", at(3), at(4, 6), "T1")
    _pay(case, "-200.00", at(10), at(11, 6), "T2", reversal_of="T1")
    _pay(case, "300.00", at(20), at(21, 6), "T3")
    _pay(case, "900.00", at(25, 23), at(2, 6, month=12), "T4")  # imported in December
    assert _row(facts.month_facts_frame(month=MONTH, as_of=dt.date(2026, 11, 5)), case)["collected_fen"] == 50_000
    assert _row(facts.month_facts_frame(month=MONTH, as_of=dt.date(2026, 11, 30)), case)["collected_fen"] == 60_000


def test_promises_due_and_kept_as_decided_by_the_day(november: Cast) -> None:
    case = november.own_case
    common = {"case": case, "amount": Decimal("100.00"), "channel": "call", "taken_by_label": "test"}
    PromiseToPay.objects.create(**common, due_on=dt.date(2026, 11, 10), status="kept",
                                decided_on=dt.date(2026, 11, 9), created_at=at(2))
    PromiseToPay.objects.create(**common, due_on=dt.date(2026, 11, 20), status="broken",
                                decided_on=dt.date(2026, 11, 21), created_at=at(3))
    PromiseToPay.objects.create(**common, due_on=dt.date(2026, 11, 25), status="kept",
                                decided_on=dt.date(2026, 12, 1), created_at=at(4))
    PromiseToPay.objects.create(**common, due_on=dt.date(2026, 11, 26), status="cancelled",
                                decided_on=dt.date(2026, 11, 12), created_at=at(5))
    row = _row(facts.month_facts_frame(month=MONTH, as_of=dt.date(2026, 11, 30)), case)
    assert (row["promises_made"], row["promises_due"], row["promises_kept"]) == (3, 3, 1)
    early = _row(facts.month_facts_frame(month=MONTH, as_of=dt.date(2026, 11, 11)), case)
    # On the 11th the cancellation of the 12th had not happened: four promises made, one due and kept.
    assert (early["promises_made"], early["promises_due"], early["promises_kept"]) == (4, 1, 1)


def test_complaints_and_messages_count_in_the_month_they_happen(november: Cast) -> None:
    case = november.own_case
    Complaint.objects.create(
        borrower=case.borrower, case=case, category="improper_time", text="太晚了", channel="phone",
        filed_by_label="test", received_at=at(8), acknowledge_due_at=at(9), decide_due_at=at(20),
    )
    for index, (channel, sent) in enumerate([("sms", at(2)), ("sms", at(3)), ("letter", at(4)), ("sms", at(1, 9, 12))]):
        Message.objects.create(
            channel=channel, template="reminder", language="zh-hans", body="x", case=case, borrower=case.borrower,
            status="sent", send_after=sent, sent_at=sent, idempotency_key=f"k{index}",
        )
    row = _row(facts.month_facts_frame(month=MONTH, as_of=dt.date(2026, 11, 30)), case)
    assert (row["complaints"], row["sms"], row["letters"]) == (1, 2, 1)
