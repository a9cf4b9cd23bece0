"""Roles are Django groups. What each may do is this table; `ensure_roles` keeps the groups in step with it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    SUPERVISOR = "supervisor"
    COLLECTOR = "collector"
    TRAINER = "trainer"
    COMPLIANCE = "compliance"


ROLE_LABELS = {
    Role.ADMIN: _("Administrator"),
    Role.MANAGER: _("Collections manager"),
    Role.SUPERVISOR: _("Team lead"),
    Role.COLLECTOR: _("Collector"),
    Role.TRAINER: _("Trainer"),
    Role.COMPLIANCE: _("Compliance officer"),
}

# Permissions per role, as "app_label.codename". An app grants its own permissions in its `roles.py`, as a
# `PERMISSIONS` mapping of the same shape; `role_permissions()` merges them.
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.ADMIN: [
        "portfolio.view_case",
        "portfolio.import_snapshot",
        "portfolio.reveal_personal_data",
        "core.view_auditevent",
        "core.add_apitoken",
        "strategy.view_strategy",
        "strategy.add_strategyversion",
        "strategy.change_strategyversion",
        "strategy.approve_strategyversion",
        "strategy.view_dailyrun",
        "strategy.run_daily",
        "strategy.view_script",
        "compliance.view_compliance_reports",
        "compliance.edit_rules",
        "compliance.override_contact",
    ],
    Role.MANAGER: [
        "portfolio.view_case",
        "portfolio.import_snapshot",
        "portfolio.reveal_personal_data",
        "core.view_auditevent",
        "strategy.view_strategy",
        "strategy.add_strategyversion",
        "strategy.change_strategyversion",
        "strategy.approve_strategyversion",
        "strategy.view_dailyrun",
        "strategy.run_daily",
        "strategy.view_script",
        "compliance.view_compliance_reports",
    ],
    Role.SUPERVISOR: [
        "portfolio.view_case",
        "portfolio.reveal_personal_data",
        "strategy.view_script",
        "compliance.view_compliance_reports",
        "compliance.override_contact",
    ],
    Role.COLLECTOR: ["portfolio.view_case", "portfolio.reveal_personal_data", "strategy.view_script"],
    Role.TRAINER: [],
    Role.COMPLIANCE: [
        "portfolio.view_case",
        "core.view_auditevent",
        "strategy.view_strategy",
        "strategy.view_dailyrun",
        "strategy.view_script",
        "compliance.view_compliance_reports",
        "compliance.edit_rules",
    ],
}

# Roles that see every case of the bank; the others see only what selectors give them.
PORTFOLIO_WIDE_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.COMPLIANCE})


def user_roles(user: AbstractBaseUser | AnonymousUser) -> frozenset[Role]:
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_doorstep_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
        cached = frozenset(role for role in Role if role.value in names)
        if getattr(user, "is_superuser", False):
            cached = cached | {Role.ADMIN}
        user._doorstep_roles = cached  # type: ignore[union-attr]
    return cached


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: Role) -> bool:
    return bool(user_roles(user) & set(roles))


def sees_whole_portfolio(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user_roles(user) & PORTFOLIO_WIDE_ROLES)


def role_permissions() -> dict[Role, list[str]]:
    """ROLE_PERMISSIONS plus what every installed Doorstep app grants in its `roles.py`."""
    from importlib import import_module
    from importlib.util import find_spec

    from django.apps import apps

    merged = {role: list(codes) for role, codes in ROLE_PERMISSIONS.items()}
    for config in apps.get_app_configs():
        if not config.name.startswith("doorstep.") or find_spec(f"{config.name}.roles") is None:
            continue
        granted: dict[Role, list[str]] = getattr(import_module(f"{config.name}.roles"), "PERMISSIONS", {})
        for role, codes in granted.items():
            merged.setdefault(role, []).extend(code for code in codes if code not in merged[role])
    return merged


def ensure_roles(**_: Any) -> None:
    """Create the role groups and grant them exactly the permissions of `role_permissions()`."""
    from django.contrib.auth.models import Group, Permission

    for role, codes in role_permissions().items():
        group, _created = Group.objects.get_or_create(name=role.value)
        permissions = []
        for code in codes:
            app_label, codename = code.split(".", 1)
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                permissions.append(permission)
        group.permissions.set(permissions)
