from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from doorstep.core.navigation import NavItem
from doorstep.feedback.selectors import VIEW_PERMISSION


def nav_items(request: HttpRequest) -> list[NavItem]:
    if not request.user.has_perm(VIEW_PERMISSION):
        return []
    return [
        NavItem(label=_("Complaints"), url=reverse("feedback:queue")),
        NavItem(label=_("Feedback dashboard"), url=reverse("feedback:dashboard")),
    ]
