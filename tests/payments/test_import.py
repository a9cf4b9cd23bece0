"""The payments import: idempotent, exact reversals, row-level refusals, cure, and order-free balances."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doorstep.core.models import AuditEvent
from doorstep.payments import services
from doorstep.payments.models import Payment, PaymentImport, PaymentState
from doorstep.payments.services import PaymentsRejected, payments_import, payments_import_rows
from doorstep.portfolio.models import Case, CaseStatus, CaseStatusChange, Loan
from tests import factories

HEADER = "txn_id,loan_id,amount,currency,paid_at,channel,reversal_of"
_files = itertools.count(1)


def write(tmp_path: Path, lines: list[str], *, encoding: str = "utf-8", header: str = HEADER) -> Path:
    path = tmp_path / f"payments-{next(_files)}.csv"
    path.write_bytes(("\n".join([header, *lines]) + "\n").encode(encoding))
    return path


def loan_of(case: Case) -> Loan:
    return case.loans.get()


def figures(loan: Loan) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    loan.refresh_from_db()
    return (loan.penalty_interest, loan.overdue_interest, loan.overdue_principal, loan.outstanding_principal)


@pytest.fixture
def case(db: None) -> Case:
    # Owes 20.50 penalty, 150.00 interest, 3000.00 overdue principal (20000.00 outstanding).
    return factories.make_case(factories.make_borrower("张伟"))


def test_a_payment_is_allocated_penalty_then_interest_then_principal(case: Case, tmp_path: Path) -> None:
    loan = loan_of(case)
    path = write(tmp_path, [f"T1,{loan.loan_id},500.00,CNY,2026-01-05T10:30:00+08:00,mobile_banking,"])
    record = payments_import(actor=None, path=path)
    assert record.payments_added == 1 and record.rows == 1
    assert figures(loan) == (Decimal("0.00"), Decimal("0.00"), Decimal("2670.50"), Decimal("19670.50"))
    payment = Payment.objects.get(txn_id="T1")
    assert payment.paid_at == dt.datetime(2026, 1, 5, 2, 30, tzinfo=dt.UTC)
    assert (payment.allocated_penalty, payment.allocated_interest, payment.allocated_principal) == (
        Decimal("20.50"), Decimal("150.00"), Decimal("329.50"),
    )
    assert payment.allocated_outstanding == payment.allocated_excess == Decimal("0.00")
    assert payment.allocations == [
        ("penalty", Decimal("20.50")), ("interest", Decimal("150.00")), ("principal", Decimal("329.50")),
    ]
    case.refresh_from_db()
    assert case.overdue_total == Decimal("2670.50")
    assert AuditEvent.objects.filter(action="payments.import.completed").count() == 1


def test_the_same_file_twice_and_overlapping_files_never_count_twice(case: Case, tmp_path: Path) -> None:
    loan = loan_of(case)
    first = write(tmp_path, [f"T1,{loan.loan_id},100.00,,2026-01-05 10:00:00,counter,"])
    payments_import(actor=None, path=first)
    again = payments_import(actor=None, path=first)
    assert again.already_imported and again.pk is None
    overlapping = write(
        tmp_path,
        [f"T1,{loan.loan_id},100.00,,2026-01-05 10:00:00,counter,", f"T2,{loan.loan_id},50.00,,2026-01-06 10:00:00,counter,"],
    )
    record = payments_import(actor=None, path=overlapping)
    assert (record.payments_added, record.duplicates_skipped) == (1, 1)
    assert Payment.objects.count() == 2
    assert figures(loan)[:2] == (Decimal("0.00"), Decimal("20.50"))


def test_a_file_imported_before_is_known_by_its_digest_without_reading_the_stored_payments(
    case: Case, tmp_path: Path
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    loan = loan_of(case)
    rows = [f"T{n},{loan.loan_id},10.00,,2026-01-05 10:00:00,counter," for n in range(1, 6)]
    path = write(tmp_path, rows)
    payments_import(actor=None, path=path)
    before = figures(loan)
    with CaptureQueriesContext(connection) as queries:
        again = payments_import(actor=None, path=path)
    read = " ".join(query["sql"] for query in queries.captured_queries)
    assert "payments_paymentimport" in read
    assert "payments_payment\"" not in read and "payments_payment " not in read and "staged" not in read
    assert again.already_imported and again.pk is None
    assert (again.rows, again.duplicates_skipped, again.payments_added) == (5, 5, 0)
    assert figures(loan) == before and Payment.objects.count() == 5


def test_a_reversal_undoes_exactly_the_payment(case: Case, tmp_path: Path) -> None:
    loan = loan_of(case)
    before = figures(loan)
    payments_import(
        actor=None,
        path=write(
            tmp_path,
            [
                f"T1,{loan.loan_id},300.00,,2026-01-05T09:00:00,counter,",
                f"T2,{loan.loan_id},100.00,,2026-01-06T09:00:00,counter,",
            ],
        ),
    )
    payments_import(actor=None, path=write(tmp_path, [f"R1,{loan.loan_id},-300.00,,2026-01-07T09:00:00,counter,T1"]))
    after = figures(loan)
    # As if only T2 (100.00) had been paid: penalty and 79.50 of interest.
    assert after == (Decimal("0.00"), Decimal("70.50"), Decimal("3000.00"), Decimal("20000.00"))
    assert before != after
    assert Payment.objects.get(txn_id="T1").state == PaymentState.REVERSED
    assert Payment.objects.get(txn_id="R1").state == PaymentState.REVERSAL
    # It takes back what the two payments together paid beyond T2's 100.00, from the last debts filled.
    assert Payment.objects.get(txn_id="R1").allocations == [("interest", Decimal("-70.50")), ("principal", Decimal("-229.50"))]


def test_a_reversal_before_its_payment_waits_for_it(case: Case, tmp_path: Path) -> None:
    loan = loan_of(case)
    before = figures(loan)
    early = payments_import(actor=None, path=write(tmp_path, [f"R1,{loan.loan_id},-300.00,,2026-01-07T09:00:00,counter,T1"]))
    assert early.reversals_waiting == 1 and early.warnings
    assert Payment.objects.get(txn_id="R1").allocations == []  # nothing to take back yet
    payments_import(actor=None, path=write(tmp_path, [f"T1,{loan.loan_id},300.00,,2026-01-05T09:00:00,counter,"]))
    assert figures(loan) == before
    reversal, payment = Payment.objects.get(txn_id="R1"), Payment.objects.get(txn_id="T1")
    assert reversal.state == PaymentState.REVERSAL and payment.state == PaymentState.REVERSED
    assert payment.allocations == [("penalty", Decimal("20.50")), ("interest", Decimal("150.00")),
                                   ("principal", Decimal("129.50"))]
    assert reversal.allocations == [(what, -amount) for what, amount in payment.allocations]


def test_bad_rows_are_all_reported_and_nothing_is_written(case: Case, tmp_path: Path) -> None:
    loan = loan_of(case)
    path = write(
        tmp_path,
        [
            f"T1,{loan.loan_id},100.00,,2026-01-05T09:00:00,counter,",
            "T2,NO-SUCH-LOAN,100.00,,2026-01-05T09:00:00,counter,",
            f"T3,{loan.loan_id},12.345,,2026-01-05T09:00:00,counter,",
            f"T4,{loan.loan_id},-5.00,,2026-01-05T09:00:00,counter,",
            f"T5,{loan.loan_id},5.00,USD,2026-01-05T09:00:00,counter,",
            f"T6,{loan.loan_id},5.00,,05/01/2026,counter,",
            f"T1,{loan.loan_id},100.00,,2026-01-05T09:00:00,counter,",
        ],
    )
    with pytest.raises(PaymentsRejected) as refused:
        payments_import(actor=None, path=path)
    reported = {(error.line, error.column) for error in refused.value.errors}
    assert {(4, "amount"), (5, "amount"), (7, "paid_at"), (8, "txn_id")} <= reported
    assert Payment.objects.count() == 0 and PaymentImport.objects.count() == 0
    # File-level checks passed row by row; now the ones against the database.
    path = write(
        tmp_path,
        [
            f"T1,{loan.loan_id},100.00,,2026-01-05T09:00:00,counter,",
            "T2,NO-SUCH-LOAN,100.00,,2026-01-05T09:00:00,counter,",
            f"T5,{loan.loan_id},5.00,USD,2026-01-05T09:00:00,counter,",
        ],
    )
    with pytest.raises(PaymentsRejected) as refused:
        payments_import(actor=None, path=path)
    assert {(error.line, error.column) for error in refused.value.errors} == {(3, "loan_id"), (4, "currency")}
    assert Payment.objects.count() == 0
    assert figures(loan)[0] == Decimal("20.50")


def test_gbk_with_bom_and_parquet_are_read(case: Case, tmp_path: Path) -> None:
    loan = loan_of(case)
    gbk = write(tmp_path, [f"T1,{loan.loan_id},10.00,,2026-01-05T09:00:00,柜面,"], encoding="gbk")
    payments_import(actor=None, path=gbk)
    assert Payment.objects.get(txn_id="T1").channel == "柜面"
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeff".encode() + f"{HEADER}\nT2,{loan.loan_id},10.00,,2026-01-05T09:00:00,counter,\n".encode())
    payments_import(actor=None, path=bom)
    parquet = tmp_path / "p.parquet"
    pl.DataFrame(
        {"txn_id": ["T3"], "loan_id": [loan.loan_id], "amount": ["10.00"], "paid_at": ["2026-01-05T09:00:00Z"],
         "channel": ["alipay"]}
    ).write_parquet(parquet)
    payments_import(actor=None, path=parquet)
    assert Payment.objects.count() == 3
    assert figures(loan)[0] == Decimal("0.00")


def test_a_case_paid_up_is_cured(case: Case, tmp_path: Path) -> None:
    loan = loan_of(case)
    record = payments_import(
        actor=None, path=write(tmp_path, [f"T1,{loan.loan_id},3170.50,,2026-01-05T09:00:00,transfer,"])
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.CURED and record.cases_cured == 1
    assert case.overdue_total == Decimal("0.00")
    assert CaseStatusChange.objects.filter(case=case, to_status=CaseStatus.CURED).exists()
    loan.refresh_from_db()
    assert not loan.is_overdue


def test_the_command_and_the_rows_import(case: Case, tmp_path: Path, capsys) -> None:
    loan = loan_of(case)
    call_command("import_payments", str(write(tmp_path, [f"T1,{loan.loan_id},10.00,,2026-01-05T09:00:00,counter,"])))
    assert "1" in capsys.readouterr().out
    record = payments_import_rows(
        actor=None,
        rows=[{"txn_id": "T2", "loan_id": loan.loan_id, "amount": "5.00", "paid_at": "2026-01-05T09:00:00",
               "channel": "wechat_pay"}],
    )
    assert record.payments_added == 1


# --------------------------------------------------------------------------- order does not matter

EVENTS = [
    ("T1", "120.00", ""),
    ("T2", "35.55", ""),
    ("T3", "900.00", ""),
    ("R3", "-900.00", "T3"),
    ("T4", "2500.00", ""),
    ("R1", "-120.00", "T1"),
]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    grouping=st.lists(st.integers(min_value=0, max_value=2), min_size=len(EVENTS), max_size=len(EVENTS)),
    order=st.permutations([0, 1, 2]),
    repeat=st.lists(st.integers(min_value=0, max_value=2), max_size=2),
)
def test_any_permutation_or_repetition_of_the_files_gives_the_same_balances(
    django_db_blocker, tmp_path_factory, grouping, order, repeat
) -> None:
    with django_db_blocker.unblock():
        from django.db import transaction

        with transaction.atomic():
            case = factories.make_case(factories.make_borrower("王芳"))
            loan = loan_of(case)
            directory = tmp_path_factory.mktemp("perm")
            files = []
            for group in range(3):
                lines = [
                    f"{txn}-{loan.pk},{loan.loan_id},{amount},,2026-01-0{index + 1}T09:00:00,counter,"
                    + (f"{of}-{loan.pk}" if of else "")
                    for index, (txn, amount, of) in enumerate(EVENTS)
                    if grouping[index] == group
                ]
                files.append(write(directory, lines) if lines else None)
            for index in [*order, *repeat]:
                if files[index] is not None:
                    payments_import(actor=None, path=files[index])
            # Standing: T2 and T4 = 2535.55 → penalty, interest, and 2365.05 of principal.
            assert figures(loan) == (Decimal("0.00"), Decimal("0.00"), Decimal("634.95"), Decimal("17634.95"))
            assert Payment.objects.filter(loan=loan).count() == len(EVENTS)
            assert not Payment.objects.filter(loan=loan, state=PaymentState.WAITING).exists()
            transaction.set_rollback(True)


def test_the_bulk_path_of_a_large_import_allocates_cures_and_keeps_every_index(
    transactional_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every import takes the path of a large one (indexes and keys off, built again after, on PostgreSQL).
    # The cases are committed first, as a bank's are, so no check of theirs is still pending.
    monkeypatch.setattr(services, "BULK_LOAD_ROWS", 0)
    paid_up, partly = (factories.make_case(factories.make_borrower(name)) for name in ("张伟", "李娜"))
    early = payments_import(
        actor=None, path=write(tmp_path, [f"R9,{loan_of(partly).loan_id},-50.00,,2026-01-07T09:00:00,counter,T9"])
    )
    assert early.reversals_waiting == 1
    indexes_before = _index_names()
    record = payments_import(
        actor=None,
        path=write(
            tmp_path,
            [
                f"T1,{loan_of(paid_up).loan_id},3170.50,,2026-01-05T09:00:00,transfer,",
                f"T2,{loan_of(partly).loan_id},100.00,,2026-01-05T09:00:00,counter,",
                f"T9,{loan_of(partly).loan_id},50.00,,2026-01-06T09:00:00,counter,",
            ],
        ),
    )
    assert (record.payments_added, record.cases_cured) == (3, 1)
    paid_up.refresh_from_db()
    partly.refresh_from_db()
    assert paid_up.status == CaseStatus.CURED and paid_up.closed_on is not None and paid_up.overdue_total == 0
    assert CaseStatusChange.objects.filter(case=paid_up, to_status=CaseStatus.CURED).count() == 1
    assert partly.status != CaseStatus.CURED and partly.overdue_total == Decimal("3070.50")
    assert figures(loan_of(partly)) == (Decimal("0.00"), Decimal("70.50"), Decimal("3000.00"), Decimal("20000.00"))
    assert Payment.objects.get(txn_id="T9").allocations == [("interest", Decimal("50.00"))]
    assert Payment.objects.get(txn_id="R9").allocations == [("interest", Decimal("-50.00"))]
    assert _index_names() == indexes_before


def _index_names() -> set[str]:
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename IN ('payments_payment', 'portfolio_case', 'portfolio_loan')"
        )
        return {name for (name,) in cursor.fetchall()}
