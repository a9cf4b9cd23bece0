from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from doorstep.core.navigation import NavItem
from doorstep.visits.selectors import may_plan


def nav_items(request: HttpRequest) -> list[NavItem]:
    if may_plan(request.user):
        return [NavItem(label=_("Field plans"), url=reverse("visits:plans"))]
    return []
