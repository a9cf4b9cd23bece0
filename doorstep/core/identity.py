"""Resident identity numbers of the People's Republic of China (GB 11643-1999)."""

from __future__ import annotations

import datetime as dt
import re

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
PATTERN = re.compile(r"^\d{17}[\dX]$")


def cn_check_character(first_seventeen: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first_seventeen, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def cn_national_id_problem(value: str) -> str | None:
    """None when `value` is a well-formed 18-character ID with a valid birth date and check character."""
    if not PATTERN.match(value):
        return "must be 17 digits followed by a digit or X"
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "the birth date inside it is not a real date"
    if cn_check_character(value[:17]) != value[17]:
        return "the check character does not match (GB 11643)"
    return None
