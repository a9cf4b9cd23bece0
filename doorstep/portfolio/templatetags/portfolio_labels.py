"""Translated labels for the portfolio's stored codes (statuses, classifications)."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from doorstep.portfolio.models import CaseStatus, Classification

register = template.Library()


@register.filter
def case_status_label(value: str) -> str:
    if not value:
        return "—"
    try:
        return str(CaseStatus(value).label)
    except ValueError:
        return value


@register.filter
def classification_label(value: str) -> str:
    try:
        return str(Classification(value).label)
    except ValueError:
        return value


# What the audit trail of a case page calls the actions it lists; unknown codes are shown as they are.
AUDIT_ACTION_LABELS = {
    "portfolio.borrower.revealed_national_id": _("Revealed the resident ID number"),
    "portfolio.borrower.revealed_phone": _("Revealed the mobile number"),
    "collectors.case.reassigned": _("Reassigned"),
    "collectors.case.assigned_bulk": _("Allocated"),
    "compliance.borrower.facts_updated": _("Compliance facts updated"),
    "compliance.case.jurisdiction_set": _("Jurisdiction set"),
}


@register.filter
def audit_action_label(action: str) -> str:
    label = AUDIT_ACTION_LABELS.get(action)
    if label is not None:
        return str(label)
    prefix = "portfolio.case."
    if action.startswith(prefix):
        status = action.removeprefix(prefix)
        if status in CaseStatus.values:
            return str(_("Status changed to %(status)s") % {"status": CaseStatus(status).label})
    return action
