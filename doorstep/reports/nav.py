from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from doorstep.core.navigation import NavItem


def nav_items(request: HttpRequest) -> list[NavItem]:
    user = request.user
    items = []
    if user.has_perm("reports.view_dashboards"):
        items.append(NavItem(label=_("Dashboards"), url=reverse("reports:dashboard")))
    if user.has_perm("reports.view_bank_reports"):
        items.append(NavItem(label=_("Monthly reports"), url=reverse("reports:monthly")))
    return items
