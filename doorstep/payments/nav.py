from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from doorstep.core.navigation import NavItem


def nav_items(request: HttpRequest) -> list[NavItem]:
    if request.user.has_perm("payments.import_payments"):
        return [NavItem(label=_("Payments"), url=reverse("payments:imports"))]
    return []
