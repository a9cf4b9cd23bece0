"""The move of allocations from rows of their own onto the payment (migration payments 0003), both ways."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from doorstep.payments.models import Payment
from tests import factories

BEFORE = [("payments", "0002_allocation_loan_from_payment")]
AFTER = [("payments", "0003_allocations_on_the_payment")]


def migrate(target: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return MigrationExecutor(connection)


@pytest.fixture
def at_0002(transactional_db: None) -> Iterator[MigrationExecutor]:
    executor = migrate(BEFORE)
    try:
        yield executor
    finally:
        latest = executor.loader.graph.leaf_nodes()
        migrate(latest)


def test_each_allocation_row_becomes_its_payments_column_and_back(at_0002: MigrationExecutor) -> None:
    case = factories.make_case(factories.make_borrower("张伟"))
    loan = case.loans.get()
    old = at_0002.loader.project_state(BEFORE).apps
    OldPayment, OldImport, OldAllocation = (old.get_model("payments", name) for name in ("Payment", "PaymentImport", "Allocation"))
    now = dt.datetime(2026, 1, 5, 2, 30, tzinfo=dt.UTC)
    record = OldImport.objects.create(file_name="f.csv", file_sha256="0" * 64, rows=2, started_at=now, finished_at=now,
                                      imported_by_label="test")
    paid = OldPayment.objects.create(txn_id="T1", loan_id=loan.pk, case_id=case.pk, amount=Decimal("500.00"), paid_at=now,
                                     channel="counter", state="reversed", payment_import=record)
    undone = OldPayment.objects.create(txn_id="R1", loan_id=loan.pk, case_id=case.pk, amount=Decimal("-500.00"),
                                       paid_at=now, channel="counter", reversal_of="T1", state="reversal",
                                       payment_import=record)
    split = {"penalty": Decimal("20.50"), "interest": Decimal("150.00"), "principal": Decimal("329.50")}
    for component, amount in split.items():
        OldAllocation.objects.create(payment=paid, component=component, amount=amount)
        OldAllocation.objects.create(payment=undone, component=component, amount=-amount)

    migrate(AFTER)
    t1, r1 = Payment.objects.get(txn_id="T1"), Payment.objects.get(txn_id="R1")
    assert (t1.allocated_penalty, t1.allocated_interest, t1.allocated_principal) == tuple(split.values())
    assert t1.allocated_outstanding == t1.allocated_excess == Decimal("0.00")
    assert sum(amount for _, amount in r1.allocations) == Decimal("-500.00")

    executor = migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    rows = old.get_model("payments", "Allocation").objects.values_list("payment__txn_id", "component", "amount")
    assert sorted(rows) == sorted(
        [("T1", component, amount) for component, amount in split.items()]
        + [("R1", component, -amount) for component, amount in split.items()]
    )
