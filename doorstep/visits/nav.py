from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from doorstep.core.navigation import NavItem
from doorstep.visits.field_selectors import collector_for
from doorstep.visits.selectors import may_plan


def nav_items(request: HttpRequest) -> list[NavItem]:
    items = []
    if may_plan(request.user):  # type: ignore[arg-type]
        items.append(NavItem(label=_("Field plans"), url=reverse("visits:plans")))
    if request.user.has_perm("visits.record_visits") and collector_for(request.user) is not None:
        items.append(NavItem(label=_("Today"), url=reverse("visits:field_today")))
    return items
