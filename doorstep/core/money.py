"""Exact money: Decimal with two places, or integer fen. Rounding is stated here once: half up."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ROUNDING = ROUND_HALF_UP
ZERO = Decimal("0.00")
AMOUNT_PATTERN = re.compile(r"^-?\d{1,13}(\.\d{1,2})?$")
CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "GBP": "£", "INR": "₹", "EUR": "€"}


class MoneyError(ValueError):
    pass


def parse_amount(text: str) -> Decimal:
    """Parse a decimal amount written with at most two places ("1234.5", "-3.00"); reject anything else."""
    cleaned = text.strip()
    if not AMOUNT_PATTERN.match(cleaned):
        raise MoneyError(f"not an amount with at most two decimal places: {text!r}")
    return Decimal(cleaned).quantize(CENT)


def money(value: Decimal | int | str) -> Decimal:
    """Normalise to two places. Floats are refused: they cannot hold fen exactly."""
    if isinstance(value, float):
        raise MoneyError("float is not accepted for money")
    try:
        return Decimal(value).quantize(CENT, rounding=ROUNDING)
    except InvalidOperation as error:
        raise MoneyError(f"not an amount: {value!r}") from error


def to_fen(value: Decimal) -> int:
    return int(money(value) * 100)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)


def format_money(value: Decimal | None, currency: str = "CNY") -> str:
    if value is None:
        return "—"
    amount = money(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}{CURRENCY_SYMBOLS.get(currency, currency + ' ')}{abs(amount):,.2f}"
