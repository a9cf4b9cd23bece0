from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from doorstep.core.navigation import NavItem


def nav_items(request: HttpRequest) -> list[NavItem]:
    items = []
    if request.user.has_perm("arrangements.view_repaymentplan"):
        items.append(NavItem(label=_("Follow-up"), url=reverse("arrangements:follow_ups")))
    if request.user.has_perm("arrangements.approve_plan"):
        items.append(NavItem(label=_("Plan approvals"), url=reverse("arrangements:approvals")))
    return items
