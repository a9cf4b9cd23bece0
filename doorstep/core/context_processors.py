from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from doorstep.core.navigation import nav_items
from doorstep.core.roles import ROLE_LABELS, Role, user_roles


def navigation(request: HttpRequest) -> dict[str, Any]:
    roles = user_roles(request.user)
    return {
        "user_roles": {role.value for role in roles},
        "user_role_labels": [ROLE_LABELS[role] for role in Role if role in roles],
        # Lazy: a page without the menu (an htmx fragment) never asks the apps for their entries.
        "app_nav_items": lambda: nav_items(request),
    }
