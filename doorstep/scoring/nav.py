from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from doorstep.core.navigation import NavItem


def nav_items(request: HttpRequest) -> list[NavItem]:
    if not request.user.has_perm("scoring.view_models"):
        return []
    return [NavItem(label=_("Scoring"), url=reverse("scoring:index"))]
