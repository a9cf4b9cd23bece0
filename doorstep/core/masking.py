"""How personal data is shown on screen: masked, as Chinese banks' industry practice does."""

from __future__ import annotations


def mask_national_id(value: str) -> str:
    """`110101199003071234` → `110101********1234`; short values keep only their last character."""
    value = value.strip()
    if len(value) >= 15:
        return value[:6] + "*" * (len(value) - 10) + value[-4:]
    if len(value) <= 1:
        return "*" * len(value)
    return "*" * (len(value) - 1) + value[-1]


def mask_phone(value: str) -> str:
    """`13812345678` → `138****5678`."""
    value = value.strip()
    if len(value) >= 11:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]
