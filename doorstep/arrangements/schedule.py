"""Repayment plan maths: schedules, settlements, waivers, affordability. Pure Python over Decimal; no Django.

Amounts are worked in integer fen so that every split is exact; the public functions take and return
`Decimal` with two places. Rounding is half up (`doorstep.core.money`), applied once per figure.
Instalments always add up to the plan total to the fen: every instalment is the total divided evenly,
rounded down to the fen, and the last one carries the remainder.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import StrEnum

from doorstep.core.money import CENT, ZERO, from_fen, money, to_fen

HUNDRED = Decimal(100)


class PlanKind(StrEnum):
    INSTALMENTS = "instalments"
    DEFERRAL = "deferral"
    SETTLEMENT = "settlement"
    WAIVER = "waiver"


class InstalmentState(StrEnum):
    DUE = "due"
    PAID = "paid"
    PARTLY_PAID = "partly_paid"
    MISSED = "missed"


@dataclass(frozen=True)
class Debt:
    """What the borrower owes on a case: the overdue parts and the principal not yet due."""

    overdue_principal: Decimal
    overdue_interest: Decimal
    penalty_interest: Decimal
    remaining_principal: Decimal = ZERO

    @property
    def overdue_total(self) -> Decimal:
        return money(self.overdue_principal + self.overdue_interest + self.penalty_interest)


@dataclass(frozen=True)
class Instalment:
    number: int
    due_on: dt.date
    amount: Decimal


@dataclass(frozen=True)
class Schedule:
    """A plan's money: what is owed under it, what was given up, and when it is paid."""

    kind: PlanKind
    base: Decimal
    interest: Decimal
    waived: Decimal
    discount: Decimal
    total: Decimal
    instalments: tuple[Instalment, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if sum((item.amount for item in self.instalments), ZERO) != self.total:
            raise ValueError("instalments must add up to the total")


class ScheduleError(ValueError):
    pass


# --------------------------------------------------------------------------- dates


def day_in_month(year: int, month: int, day: int) -> dt.date:
    """The given day of that month, or its last day when the month is shorter (31 → 30, 28 or 29)."""
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def add_months(start: dt.date, months: int, day: int | None = None) -> dt.date:
    """`start` moved by whole months, keeping `day` (default: start's day) or the month's last day."""
    index = start.year * 12 + (start.month - 1) + months
    return day_in_month(index // 12, index % 12 + 1, day or start.day)


def due_dates(first_due: dt.date, count: int, day: int | None = None) -> list[dt.date]:
    """Monthly due dates from `first_due`, all on `day` of the month (default first_due's day) or the last."""
    anchor = day or first_due.day
    return [add_months(first_due, number, anchor) for number in range(count)]


# --------------------------------------------------------------------------- splitting


def split_even(total: Decimal, count: int) -> list[Decimal]:
    """`total` in `count` parts: equal parts rounded down to the fen, the remainder on the last part."""
    if count < 1:
        raise ScheduleError("a plan needs at least one instalment")
    fen = to_fen(total)
    if fen < 0:
        raise ScheduleError("a plan total cannot be negative")
    part = fen // count
    parts = [part] * (count - 1) + [fen - part * (count - 1)]
    return [from_fen(item) for item in parts]


def split_fixed(total: Decimal, monthly: Decimal) -> list[Decimal]:
    """`total` paid `monthly` at a time: as many full parts as fit, then what is left as the last part."""
    fen, step = to_fen(total), to_fen(monthly)
    if step <= 0:
        raise ScheduleError("the monthly amount must be positive")
    parts = [step] * (fen // step)
    if fen % step:
        parts.append(fen % step)
    return [from_fen(item) for item in parts] or [ZERO]


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    return (amount * percent / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- plans


def _financed(
    debt: Debt, *, include_remaining_principal: bool, waive_penalty: bool, waive_interest: bool
) -> tuple[Decimal, Decimal]:
    """The base a plan covers and what the waivers give up."""
    waived = (debt.penalty_interest if waive_penalty else ZERO) + (debt.overdue_interest if waive_interest else ZERO)
    base = debt.overdue_total - waived
    if include_remaining_principal:
        base += debt.remaining_principal
    return money(base), money(waived)


def instalment_plan(
    debt: Debt,
    *,
    count: int,
    first_due: dt.date,
    day_of_month: int | None = None,
    include_remaining_principal: bool = False,
    waive_penalty: bool = False,
    waive_interest: bool = False,
    monthly_rate_percent: Decimal = ZERO,
) -> Schedule:
    """`count` monthly instalments over the overdue amount (and the remaining principal if asked).

    Plan interest, if the bank charges any, is simple interest on the financed amount: base × rate × months.
    """
    if count < 1:
        raise ScheduleError("a plan needs at least one instalment")
    if monthly_rate_percent < 0:
        raise ScheduleError("the plan rate cannot be negative")
    base, waived = _financed(
        debt,
        include_remaining_principal=include_remaining_principal,
        waive_penalty=waive_penalty,
        waive_interest=waive_interest,
    )
    interest = percent_of(base * count, monthly_rate_percent)
    total = money(base + interest)
    dates = due_dates(first_due, count, day_of_month)
    amounts = split_even(total, count)
    return Schedule(
        kind=PlanKind.INSTALMENTS,
        base=base,
        interest=interest,
        waived=waived,
        discount=ZERO,
        total=total,
        instalments=tuple(
            Instalment(number, due_on, amount)
            for number, (due_on, amount) in enumerate(zip(dates, amounts, strict=True), start=1)
        ),
    )


def deferral_plan(debt: Debt, *, current_due: dt.date, days: int) -> Schedule:
    """The whole overdue amount, due `days` later than it is now."""
    if days < 1:
        raise ScheduleError("a deferral moves the due date by at least one day")
    total = debt.overdue_total
    return Schedule(
        kind=PlanKind.DEFERRAL,
        base=total,
        interest=ZERO,
        waived=ZERO,
        discount=ZERO,
        total=total,
        instalments=(Instalment(1, current_due + dt.timedelta(days=days), total),),
    )


def settlement_plan(
    debt: Debt,
    *,
    discount_percent: Decimal,
    due_on: dt.date,
    include_remaining_principal: bool = True,
    instalments: int = 1,
) -> Schedule:
    """A discounted pay-off of everything owed (by default with the principal not yet due), in one or a few
    instalments. The discount is rounded half up to the fen; the borrower pays the rest exactly."""
    if not ZERO <= discount_percent < HUNDRED:
        raise ScheduleError("a settlement discount is between 0 and 100 percent")
    base = money(debt.overdue_total + (debt.remaining_principal if include_remaining_principal else ZERO))
    discount = percent_of(base, discount_percent)
    total = money(base - discount)
    dates = due_dates(due_on, instalments)
    amounts = split_even(total, instalments)
    return Schedule(
        kind=PlanKind.SETTLEMENT,
        base=base,
        interest=ZERO,
        waived=ZERO,
        discount=discount,
        total=total,
        instalments=tuple(
            Instalment(number, day, amount)
            for number, (day, amount) in enumerate(zip(dates, amounts, strict=True), start=1)
        ),
    )


def waiver_plan(
    debt: Debt, *, due_on: dt.date, waive_penalty: bool = True, waive_interest: bool = False
) -> Schedule:
    """Penalty interest (and, if asked, overdue interest) forgiven when the rest is paid by `due_on`."""
    if not (waive_penalty or waive_interest):
        raise ScheduleError("a waiver gives up penalty interest, overdue interest, or both")
    base, waived = _financed(
        debt, include_remaining_principal=False, waive_penalty=waive_penalty, waive_interest=waive_interest
    )
    return Schedule(
        kind=PlanKind.WAIVER,
        base=base,
        interest=ZERO,
        waived=waived,
        discount=ZERO,
        total=base,
        instalments=(Instalment(1, due_on, base),),
    )


# --------------------------------------------------------------------------- affordability


@dataclass(frozen=True)
class AffordabilityPolicy:
    """How much of a borrower's income a plan may take. Amounts are per month."""

    allowance_per_dependant: Decimal = Decimal("800.00")
    share_of_surplus: Decimal = Decimal("60")  # percent of what is left after expenses and dependants
    minimum_instalment: Decimal = Decimal("100.00")
    max_instalments: int = 24


@dataclass(frozen=True)
class Affordability:
    income: Decimal
    expenses: Decimal
    dependants: int
    surplus: Decimal
    affordable_monthly: Decimal
    proposed_monthly: Decimal | None
    kind: PlanKind | None
    count: int
    waive_penalty: bool
    reasons: tuple[str, ...]
    schedule: Schedule | None

    @property
    def can_pay(self) -> bool:
        return self.schedule is not None


def affordability_check(
    debt: Debt,
    *,
    income: Decimal,
    expenses: Decimal,
    dependants: int,
    first_due: dt.date,
    asked_monthly: Decimal | None = None,
    policy: AffordabilityPolicy | None = None,
) -> Affordability:
    """The monthly amount the borrower can keep paying, and the plan that follows from it.

    The plan is the fewest instalments (at most `max_instalments`) whose amount stays within what is
    affordable; if even the longest plan is too dear, penalty interest is waived; if that is still too
    dear, no plan is proposed and the reasons say so (forbearance must then be considered by a person).
    A monthly amount the borrower asks for is used when it is affordable.
    """
    policy = policy or AffordabilityPolicy()
    income, expenses = money(income), money(expenses)
    if income < 0 or expenses < 0 or dependants < 0:
        raise ScheduleError("income, expenses and dependants cannot be negative")
    surplus = money(income - expenses - policy.allowance_per_dependant * dependants)
    affordable = percent_of(max(surplus, ZERO), policy.share_of_surplus).quantize(CENT, rounding=ROUND_DOWN)
    reasons: list[str] = []
    monthly = affordable
    if asked_monthly is not None:
        asked = money(asked_monthly)
        if ZERO < asked <= affordable:
            monthly = asked
        elif asked > affordable:
            reasons.append("asked_above_affordable")
    if monthly < policy.minimum_instalment:
        reasons.append("below_minimum_instalment")
        return Affordability(
            income, expenses, dependants, surplus, affordable, None, None, 0, False, tuple(reasons), None
        )
    for waive_penalty in (False, True):
        total, _waived = _financed(
            debt, include_remaining_principal=False, waive_penalty=waive_penalty, waive_interest=False
        )
        count = max(1, -(-to_fen(total) // to_fen(monthly)))
        if count <= policy.max_instalments:
            if waive_penalty:
                reasons.append("penalty_waived_to_fit")
            schedule = instalment_plan(debt, count=count, first_due=first_due, waive_penalty=waive_penalty)
            proposed = schedule.instalments[0].amount
            return Affordability(
                income,
                expenses,
                dependants,
                surplus,
                affordable,
                proposed,
                PlanKind.INSTALMENTS,
                count,
                waive_penalty,
                tuple(reasons),
                schedule,
            )
    reasons.append("not_affordable_within_max_instalments")
    return Affordability(income, expenses, dependants, surplus, affordable, None, None, 0, False, tuple(reasons), None)


# --------------------------------------------------------------------------- following a plan


@dataclass(frozen=True)
class InstalmentProgress:
    number: int
    due_on: dt.date
    amount: Decimal
    paid: Decimal
    state: InstalmentState


def instalment_progress(
    instalments: Sequence[Instalment], *, paid_total: Decimal, today: dt.date, grace_days: int = 0
) -> list[InstalmentProgress]:
    """What has been paid against each instalment, oldest first, and whether it is paid, due or missed.

    Money paid under the plan fills instalments in due order. An instalment not fully paid `grace_days`
    after its due date is missed.
    """
    remaining = max(money(paid_total), ZERO)
    progress = []
    for item in sorted(instalments, key=lambda entry: (entry.due_on, entry.number)):
        paid = min(remaining, item.amount)
        remaining -= paid
        if paid == item.amount:
            state = InstalmentState.PAID
        elif today > item.due_on + dt.timedelta(days=grace_days):
            state = InstalmentState.MISSED
        elif paid > ZERO:
            state = InstalmentState.PARTLY_PAID
        else:
            state = InstalmentState.DUE
        progress.append(InstalmentProgress(item.number, item.due_on, item.amount, paid, state))
    return progress


class PromiseOutcome(StrEnum):
    PENDING = "pending"
    KEPT = "kept"
    PARTLY_KEPT = "partly_kept"
    BROKEN = "broken"


def promise_outcome(
    *, amount: Decimal, due_on: dt.date, paid: Decimal, today: dt.date, grace_days: int = 0
) -> PromiseOutcome:
    """Kept as soon as the promised amount has arrived; after the grace period, partly kept or broken."""
    if paid >= amount:
        return PromiseOutcome.KEPT
    if today <= due_on + dt.timedelta(days=grace_days):
        return PromiseOutcome.PENDING
    return PromiseOutcome.PARTLY_KEPT if paid > ZERO else PromiseOutcome.BROKEN
