"""Compliance: rule sets per jurisdiction, the contact gate, overrides and the contact ledger.

Everything that contacts a borrower asks `doorstep.compliance.check(action)` first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from doorstep.compliance.services import ContactAction, ContactVerdict


def check(action: ContactAction) -> ContactVerdict:
    from doorstep.compliance.services import check as gate

    return gate(action)
