"""How a payment is shared among what a loan owes, and how a reversal takes it back. Pure Python; no Django.

A loan's debts are filled in a configured order (the waterfall, e.g. penalty → interest → principal); money
beyond all of them is held as excess (an overpayment, never lost). Everything is integer fen.

The state of a loan is a function of one number: the net amount paid since its figures were set, S. Each
debt is a band [lower, upper) of S in waterfall order, and the paid part of a debt is S clipped to its
band. A payment moves S up and a reversal moves it down by exactly the reversed amount, and the allocation
of either is the change in every band. Consequences the tests check: every fen of every payment and
reversal is allocated (conservation), nothing is paid below zero or above what was owed, and the
balances after any sequence of payments and reversals depend only on which payments stand, not on the
order they came in: a reversal leaves the loan exactly as if the reversed payment had never been made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from doorstep.core.money import from_fen, to_fen

PENALTY = "penalty"
INTEREST = "interest"
PRINCIPAL = "principal"
OUTSTANDING = "outstanding"  # principal not yet due: only when the bank lets payments go there
EXCESS = "excess"
COMPONENTS = (PENALTY, INTEREST, PRINCIPAL, OUTSTANDING)
DEFAULT_ORDER = (PENALTY, INTEREST, PRINCIPAL)


class WaterfallError(ValueError):
    pass


def check_order(order: Sequence[str]) -> tuple[str, ...]:
    unknown = [name for name in order if name not in COMPONENTS]
    if unknown or len(set(order)) != len(order) or not order:
        raise WaterfallError(f"a waterfall names each of {', '.join(COMPONENTS)} at most once: {list(order)}")
    return tuple(order)


def bands(capacities: Mapping[str, int], order: Sequence[str]) -> list[tuple[str, int, int | None]]:
    """(component, lower, upper) of S for each debt in order, then the excess band with no upper end."""
    result: list[tuple[str, int, int | None]] = []
    lower = 0
    for name in order:
        capacity = capacities.get(name, 0)
        if capacity < 0:
            raise WaterfallError(f"{name} cannot be negative")
        result.append((name, lower, lower + capacity))
        lower += capacity
    result.append((EXCESS, lower, None))
    return result


def _clip(value: int, lower: int, upper: int | None) -> int:
    top = value if upper is None else min(value, upper)
    return max(top, lower) - lower


def filled(capacities: Mapping[str, int], order: Sequence[str], paid: int) -> dict[str, int]:
    """How much of each debt (and of the excess) the net amount `paid` has covered."""
    return {name: _clip(paid, lower, upper) for name, lower, upper in bands(capacities, order)}


def allocation(capacities: Mapping[str, int], order: Sequence[str], before: int, after: int) -> dict[str, int]:
    """The change of every band as S goes from `before` to `after`; it adds up to `after - before`."""
    if before < 0 or after < 0:
        raise WaterfallError("the net amount paid on a loan cannot go below zero")
    return {
        name: _clip(after, lower, upper) - _clip(before, lower, upper)
        for name, lower, upper in bands(capacities, order)
    }


@dataclass
class LoanLedger:
    """One loan's debts (the figures the payments are set against) and the payments that stand on it."""

    owed: dict[str, int]
    order: tuple[str, ...] = DEFAULT_ORDER
    paid: int = 0
    standing: dict[str, int] = field(default_factory=dict)
    allocations: list[tuple[str, dict[str, int]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.order = check_order(self.order)

    def pay(self, txn_id: str, amount: int) -> dict[str, int]:
        if amount <= 0:
            raise WaterfallError("a payment is positive")
        if txn_id in self.standing:
            return {}
        split = allocation(self.owed, self.order, self.paid, self.paid + amount)
        self.paid += amount
        self.standing[txn_id] = amount
        self.allocations.append((txn_id, split))
        return split

    def reverse(self, txn_id: str, reversal_id: str) -> dict[str, int]:
        amount = self.standing.pop(txn_id, None)
        if amount is None:
            raise WaterfallError(f"{txn_id} is not a payment that stands on this loan")
        split = allocation(self.owed, self.order, self.paid, self.paid - amount)
        self.paid -= amount
        self.allocations.append((reversal_id, split))
        return split

    def remaining(self) -> dict[str, int]:
        covered = filled(self.owed, self.order, self.paid)
        return {name: self.owed.get(name, 0) - covered.get(name, 0) for name in COMPONENTS}

    def excess(self) -> int:
        return filled(self.owed, self.order, self.paid)[EXCESS]


def allocate_amount(
    owed: Mapping[str, Decimal], amount: Decimal, order: Sequence[str] = DEFAULT_ORDER
) -> dict[str, Decimal]:
    """One payment set against what is owed now, in Decimal: {component: amount, ..., "excess": amount}."""
    capacities = {name: to_fen(value) for name, value in owed.items()}
    split = allocation(capacities, check_order(order), 0, to_fen(amount))
    return {name: from_fen(value) for name, value in split.items()}
