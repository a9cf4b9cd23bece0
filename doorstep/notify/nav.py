from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from doorstep.core.navigation import NavItem
from doorstep.notify.selectors import may_see_outbox


def nav_items(request: HttpRequest) -> list[NavItem]:
    if may_see_outbox(request.user):
        return [NavItem(label=_("Outbox"), url=reverse("notify:outbox"))]
    return []
