"""Menu entries for training and quality."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from doorstep.core.navigation import NavItem


def nav_items(request: HttpRequest) -> list[NavItem]:
    user = request.user
    items = []
    if user.has_perm("collectors.take_training") and getattr(user, "collector", None) is not None:
        items.append(NavItem(label=_("My training"), url=reverse("collectors:my_training")))
    if user.has_perm("collectors.manage_training"):
        items.append(NavItem(label=_("Training"), url=reverse("collectors:trainer_home")))
    if user.has_perm("collectors.view_team_training"):
        items.append(NavItem(label=_("Team training"), url=reverse("collectors:team_status")))
    if user.has_perm("collectors.review_quality"):
        items.append(NavItem(label=_("Quality reviews"), url=reverse("collectors:qa_queue")))
    return items
