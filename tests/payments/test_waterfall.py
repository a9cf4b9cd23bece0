"""The payment waterfall: every fen allocated, order of arrival irrelevant, reversals exact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doorstep.payments.waterfall import (
    EXCESS,
    INTEREST,
    OUTSTANDING,
    PENALTY,
    PRINCIPAL,
    LoanLedger,
    WaterfallError,
    allocate_amount,
    check_order,
)

OWED = {PENALTY: 2050, INTEREST: 15000, PRINCIPAL: 300000}


@pytest.mark.parametrize(
    ("amount", "order", "expected"),
    [
        ("10.00", (PENALTY, INTEREST, PRINCIPAL), {PENALTY: "10.00"}),
        ("100.00", (PENALTY, INTEREST, PRINCIPAL), {PENALTY: "20.50", INTEREST: "79.50"}),
        ("100.00", (PRINCIPAL, INTEREST, PENALTY), {PRINCIPAL: "100.00"}),
        ("3200.00", (PENALTY, INTEREST, PRINCIPAL), {PENALTY: "20.50", INTEREST: "150.00", PRINCIPAL: "3000.00", EXCESS: "29.50"}),
        ("200.00", (INTEREST, PENALTY, PRINCIPAL), {INTEREST: "150.00", PENALTY: "20.50", PRINCIPAL: "29.50"}),
    ],
)
def test_allocation_follows_the_configured_order(amount, order, expected) -> None:
    owed = {name: Decimal(fen) / 100 for name, fen in OWED.items()}
    split = allocate_amount(owed, Decimal(amount), order)
    assert {name: value for name, value in split.items() if value} == {k: Decimal(v) for k, v in expected.items()}
    assert sum(split.values()) == Decimal(amount)


def test_a_bad_waterfall_is_refused() -> None:
    with pytest.raises(WaterfallError):
        check_order((PENALTY, PENALTY))
    with pytest.raises(WaterfallError):
        check_order(("fees",))


def test_a_reversal_leaves_the_loan_as_if_the_payment_never_came() -> None:
    ledger = LoanLedger(owed=dict(OWED))
    ledger.pay("A", 10000)
    ledger.pay("B", 5000)
    ledger.reverse("A", "A-R")
    alone = LoanLedger(owed=dict(OWED))
    alone.pay("B", 5000)
    assert ledger.remaining() == alone.remaining()
    with pytest.raises(WaterfallError):
        ledger.reverse("A", "A-R2")


orders = st.permutations([PENALTY, INTEREST, PRINCIPAL, OUTSTANDING]).flatmap(
    lambda full: st.integers(min_value=1, max_value=4).map(lambda n: tuple(full[:n]))
)
owed_maps = st.fixed_dictionaries(
    {name: st.integers(min_value=0, max_value=5_000_000) for name in (PENALTY, INTEREST, PRINCIPAL, OUTSTANDING)}
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(min_value=1, max_value=2_000_000)),
        st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=50)),
    ),
    max_size=40,
)


@settings(max_examples=300)
@given(owed=owed_maps, order=orders, ops=operations)
def test_every_fen_is_allocated_and_nothing_is_over_or_under_paid(owed, order, ops) -> None:
    ledger = LoanLedger(owed=dict(owed), order=order)
    paid_in = 0
    for number, (kind, value) in enumerate(ops):
        if kind == "pay":
            split = ledger.pay(f"T{number}", value)
            assert sum(split.values()) == value
            assert all(amount >= 0 for amount in split.values())
            paid_in += value
        elif ledger.standing:
            txn = sorted(ledger.standing)[value % len(ledger.standing)]
            amount = ledger.standing[txn]
            split = ledger.reverse(txn, f"R{number}")
            assert sum(split.values()) == -amount
            assert all(part <= 0 for part in split.values())
            paid_in -= amount
        remaining = ledger.remaining()
        for name in (PENALTY, INTEREST, PRINCIPAL, OUTSTANDING):
            assert 0 <= remaining[name] <= owed[name]
            if name not in order:
                assert remaining[name] == owed[name]
        # Conservation: what left the debts plus the excess is exactly the net paid in.
        covered = sum(owed[name] - remaining[name] for name in remaining)
        assert covered + ledger.excess() == paid_in == ledger.paid
        totals: dict[str, int] = {}
        for _txn, split in ledger.allocations:
            for name, amount in split.items():
                totals[name] = totals.get(name, 0) + amount
        assert sum(totals.values()) == paid_in
        assert totals.get(EXCESS, 0) == ledger.excess()


@settings(max_examples=200)
@given(
    owed=owed_maps,
    payments=st.lists(st.integers(min_value=1, max_value=1_000_000), min_size=1, max_size=12),
    reversed_mask=st.lists(st.booleans(), min_size=12, max_size=12),
    seed=st.randoms(use_true_random=False),
)
def test_balances_depend_only_on_the_payments_that_stand(owed, payments, reversed_mask, seed) -> None:
    events = [("pay", f"T{index}", amount) for index, amount in enumerate(payments)]
    events += [("reverse", f"T{index}", 0) for index in range(len(payments)) if reversed_mask[index]]
    in_order = LoanLedger(owed=dict(owed))
    for kind, txn, amount in events:
        in_order.pay(txn, amount) if kind == "pay" else in_order.reverse(txn, txn + "-R")
    shuffled = list(events)
    seed.shuffle(shuffled)
    # Reversals wait for the payment they reverse, as the import holds them.
    other = LoanLedger(owed=dict(owed))
    waiting: set[str] = set()
    for kind, txn, amount in shuffled:
        if kind == "pay":
            other.pay(txn, amount)
            if txn in waiting:
                other.reverse(txn, txn + "-R")
        elif txn in other.standing:
            other.reverse(txn, txn + "-R")
        else:
            waiting.add(txn)
    assert other.remaining() == in_order.remaining()
    assert other.excess() == in_order.excess()
