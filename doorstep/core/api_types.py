"""Field types shared by the JSON API's schemas."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

from doorstep.core.money import money


def money_text(value: Decimal) -> str:
    return f"{money(value):f}"


# Money leaves the API as a string with exactly two decimals ("1234.50"): JSON numbers are floats to most readers.
MoneyText = Annotated[
    Decimal,
    PlainSerializer(money_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["3170.50"]}),
]
