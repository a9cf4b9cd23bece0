"""Plan maths: every schedule adds up to the fen, dates fall on real days, affordability proposes a plan."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorstep.arrangements.schedule import (
    Debt,
    Instalment,
    InstalmentState,
    PlanKind,
    PromiseOutcome,
    ScheduleError,
    add_months,
    affordability_check,
    deferral_plan,
    due_dates,
    instalment_plan,
    instalment_progress,
    promise_outcome,
    settlement_plan,
    split_even,
    split_fixed,
    waiver_plan,
)

DEBT = Debt(
    overdue_principal=Decimal("3000.00"),
    overdue_interest=Decimal("150.00"),
    penalty_interest=Decimal("20.50"),
    remaining_principal=Decimal("17000.00"),
)

money_values = st.integers(min_value=0, max_value=10**11).map(lambda fen: Decimal(fen) / 100)


@pytest.mark.parametrize(
    ("start", "months", "day", "expected"),
    [
        (dt.date(2026, 1, 31), 1, None, dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), 1, None, dt.date(2028, 2, 29)),
        (dt.date(2026, 1, 31), 2, None, dt.date(2026, 3, 31)),
        (dt.date(2026, 3, 31), 1, None, dt.date(2026, 4, 30)),
        (dt.date(2026, 12, 15), 1, None, dt.date(2027, 1, 15)),
        (dt.date(2026, 11, 30), 3, 31, dt.date(2027, 2, 28)),
        (dt.date(2026, 2, 28), 1, 31, dt.date(2026, 3, 31)),
        (dt.date(2026, 5, 10), -5, None, dt.date(2025, 12, 10)),
        (dt.date(2026, 8, 29), 6, None, dt.date(2027, 2, 28)),
    ],
)
def test_months_move_to_a_real_calendar_day(start, months, day, expected) -> None:
    assert add_months(start, months, day) == expected


def test_a_plan_on_the_31st_pays_on_the_last_day_of_short_months_and_the_31st_again_after() -> None:
    assert due_dates(dt.date(2026, 1, 31), 4) == [
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
    ]


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [
        ("100.00", 3, ["33.33", "33.33", "33.34"]),
        ("0.05", 3, ["0.01", "0.01", "0.03"]),
        ("3170.50", 6, ["528.41", "528.41", "528.41", "528.41", "528.41", "528.45"]),
        ("10.00", 1, ["10.00"]),
    ],
)
def test_even_split_puts_the_remainder_on_the_last_instalment(total, count, expected) -> None:
    assert split_even(Decimal(total), count) == [Decimal(value) for value in expected]


@given(total=money_values, count=st.integers(min_value=1, max_value=120))
def test_even_split_adds_up_to_the_fen(total: Decimal, count: int) -> None:
    parts = split_even(total, count)
    assert len(parts) == count
    assert sum(parts) == total
    assert all(part >= 0 for part in parts)
    assert max(parts[:-1] or [parts[-1]]) <= parts[-1]


@given(total=money_values, monthly=st.integers(min_value=1, max_value=10**8).map(lambda fen: Decimal(fen) / 100))
def test_fixed_split_adds_up_to_the_fen(total: Decimal, monthly: Decimal) -> None:
    if total / monthly > 10_000:
        return
    parts = split_fixed(total, monthly)
    assert sum(parts) == total
    assert all(part <= monthly for part in parts)


debts = st.builds(
    Debt,
    overdue_principal=money_values,
    overdue_interest=money_values,
    penalty_interest=money_values,
    remaining_principal=money_values,
)


@given(
    debt=debts,
    count=st.integers(min_value=1, max_value=60),
    day=st.integers(min_value=1, max_value=31),
    include=st.booleans(),
    waive_penalty=st.booleans(),
    waive_interest=st.booleans(),
    rate=st.integers(min_value=0, max_value=300).map(lambda hundredths: Decimal(hundredths) / 100),
)
def test_instalment_plans_sum_exactly_and_fall_on_real_days(
    debt, count, day, include, waive_penalty, waive_interest, rate
) -> None:
    schedule = instalment_plan(
        debt,
        count=count,
        first_due=dt.date(2026, 1, min(day, 28)),
        day_of_month=day,
        include_remaining_principal=include,
        waive_penalty=waive_penalty,
        waive_interest=waive_interest,
        monthly_rate_percent=rate,
    )
    assert sum(item.amount for item in schedule.instalments) == schedule.total
    assert schedule.total == schedule.base + schedule.interest
    owed = debt.overdue_total + (debt.remaining_principal if include else 0)
    assert schedule.base + schedule.waived == owed
    assert [item.number for item in schedule.instalments] == list(range(1, count + 1))
    dates = [item.due_on for item in schedule.instalments]
    assert dates == sorted(dates) and len(set(dates)) == count
    assert all(item.amount >= 0 for item in schedule.instalments)


@given(debt=debts, percent=st.integers(min_value=0, max_value=9999).map(lambda bp: Decimal(bp) / 100),
       count=st.integers(min_value=1, max_value=6))
def test_settlements_pay_exactly_what_is_left_after_the_discount(debt, percent, count) -> None:
    schedule = settlement_plan(debt, discount_percent=percent, due_on=dt.date(2026, 3, 31), instalments=count)
    assert schedule.total + schedule.discount == debt.overdue_total + debt.remaining_principal
    assert sum(item.amount for item in schedule.instalments) == schedule.total


def test_a_settlement_discount_is_rounded_half_up_once() -> None:
    schedule = settlement_plan(
        Debt(Decimal("100.00"), Decimal("0.05"), Decimal("0.00")),
        discount_percent=Decimal("10"),
        due_on=dt.date(2026, 3, 1),
        include_remaining_principal=False,
    )
    assert schedule.discount == Decimal("10.01")
    assert schedule.total == Decimal("90.04")


def test_deferral_moves_the_whole_overdue_amount() -> None:
    schedule = deferral_plan(DEBT, current_due=dt.date(2026, 1, 31), days=30)
    assert schedule.kind == PlanKind.DEFERRAL
    assert schedule.instalments == (Instalment(1, dt.date(2026, 3, 2), Decimal("3170.50")),)


def test_waiver_forgives_the_penalty_and_asks_for_the_rest() -> None:
    schedule = waiver_plan(DEBT, due_on=dt.date(2026, 2, 15))
    assert schedule.waived == Decimal("20.50")
    assert schedule.total == Decimal("3150.00")


@pytest.mark.parametrize("bad", [{"count": 0}, {"monthly_rate_percent": Decimal("-1")}])
def test_impossible_plans_are_refused(bad) -> None:
    arguments = {"count": 3, "first_due": dt.date(2026, 1, 1), **bad}
    with pytest.raises(ScheduleError):
        instalment_plan(DEBT, **arguments)


def test_affordability_proposes_the_shortest_plan_the_borrower_can_keep() -> None:
    result = affordability_check(
        DEBT, income=Decimal("6000"), expenses=Decimal("3500"), dependants=1, first_due=dt.date(2026, 2, 10)
    )
    # 6000 − 3500 − 800 = 1700 left; 60 % of it is 1020 a month; 3170.50 / 1020 → 4 instalments.
    assert result.surplus == Decimal("1700.00")
    assert result.affordable_monthly == Decimal("1020.00")
    assert result.count == 4
    assert result.schedule is not None and result.schedule.total == Decimal("3170.50")
    assert result.proposed_monthly == Decimal("792.62")


def test_affordability_waives_penalty_when_only_that_makes_a_plan_fit() -> None:
    debt = Debt(Decimal("2390.00"), Decimal("0.00"), Decimal("20.00"))
    result = affordability_check(
        debt, income=Decimal("1300"), expenses=Decimal("1133.33"), dependants=0, first_due=dt.date(2026, 2, 1)
    )
    # 100.00 a month for at most 24 months is 2400.00: short of 2410.00 unless the penalty goes.
    assert result.affordable_monthly == Decimal("100.00")
    assert result.waive_penalty and "penalty_waived_to_fit" in result.reasons
    assert result.count == 24
    assert result.schedule is not None and result.schedule.total == Decimal("2390.00")


def test_no_plan_when_nothing_is_left_to_pay_with() -> None:
    result = affordability_check(
        DEBT, income=Decimal("3000"), expenses=Decimal("2800"), dependants=2, first_due=dt.date(2026, 2, 1)
    )
    assert not result.can_pay
    assert "below_minimum_instalment" in result.reasons


def test_an_affordable_amount_the_borrower_asks_for_is_used() -> None:
    result = affordability_check(
        DEBT,
        income=Decimal("6000"),
        expenses=Decimal("3500"),
        dependants=1,
        first_due=dt.date(2026, 2, 10),
        asked_monthly=Decimal("500"),
    )
    assert result.count == 7
    assert result.schedule is not None
    assert [item.amount for item in result.schedule.instalments] == [Decimal("452.92")] * 6 + [Decimal("452.98")]


@pytest.mark.parametrize(
    ("paid", "today", "states"),
    [
        ("0", dt.date(2026, 2, 1), ["due", "due", "due"]),
        ("150", dt.date(2026, 2, 1), ["paid", "partly_paid", "due"]),
        ("150", dt.date(2026, 3, 4), ["paid", "missed", "due"]),
        ("150", dt.date(2026, 3, 3), ["paid", "partly_paid", "due"]),
        ("300", dt.date(2026, 6, 1), ["paid", "paid", "paid"]),
        ("999", dt.date(2026, 6, 1), ["paid", "paid", "paid"]),
    ],
)
def test_instalment_progress(paid, today, states) -> None:
    instalments = [Instalment(number, add_months(dt.date(2026, 1, 31), number - 1), Decimal("100")) for number in (1, 2, 3)]
    progress = instalment_progress(instalments, paid_total=Decimal(paid), today=today, grace_days=3)
    assert [item.state for item in progress] == [InstalmentState(state) for state in states]


@pytest.mark.parametrize(
    ("paid", "today", "expected"),
    [
        ("500", dt.date(2026, 1, 10), "kept"),
        ("0", dt.date(2026, 1, 13), "pending"),
        ("0", dt.date(2026, 1, 14), "broken"),
        ("200", dt.date(2026, 1, 14), "partly_kept"),
        ("600", dt.date(2026, 3, 1), "kept"),
    ],
)
def test_promise_outcome_after_grace(paid, today, expected) -> None:
    outcome = promise_outcome(
        amount=Decimal("500"), due_on=dt.date(2026, 1, 10), paid=Decimal(paid), today=today, grace_days=3
    )
    assert outcome == PromiseOutcome(expected)
