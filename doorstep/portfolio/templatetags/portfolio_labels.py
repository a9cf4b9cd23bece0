"""Translated labels for the portfolio's stored codes (statuses, classifications)."""

from __future__ import annotations

from django import template

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
