"""Template filters shared by every Doorstep page."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.conf import settings

from doorstep.core.money import MoneyError, format_money

register = template.Library()


@register.filter
def money(value: Decimal | int | str | None, currency: str = "") -> str:
    """An exact amount as the bank writes it: `¥1,234.50`. Never goes through float."""
    if value is None or value == "":
        return "—"
    try:
        return format_money(Decimal(value), currency or settings.DOORSTEP_DEFAULT_CURRENCY)
    except (MoneyError, ArithmeticError, ValueError, TypeError):
        return str(value)


@register.filter
def css_token(value: object) -> str:
    """A value made safe for use inside a class name: `M4+` → `m4plus`."""
    text = str(value).lower().replace("+", "plus")
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)
