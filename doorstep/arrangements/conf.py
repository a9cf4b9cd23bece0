"""The bank's arrangement policy, from settings with defaults: grace periods, the authority matrix, reminders."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings

from doorstep.arrangements.models import AuthorityLevel
from doorstep.arrangements.schedule import AffordabilityPolicy
from doorstep.core.roles import Role, user_roles

LEVELS = (AuthorityLevel.COLLECTOR, AuthorityLevel.SUPERVISOR, AuthorityLevel.MANAGER)

# What each level may agree without asking the next one up. A level with no entry has no limit.
DEFAULT_PLAN_AUTHORITY: dict[str, dict[str, Any]] = {
    AuthorityLevel.COLLECTOR: {
        "max_total": "20000.00",
        "max_forgiven": "500.00",
        "max_discount_percent": "10",
        "max_instalments": 12,
        "max_deferral_days": 30,
    },
    AuthorityLevel.SUPERVISOR: {
        "max_total": "100000.00",
        "max_forgiven": "5000.00",
        "max_discount_percent": "30",
        "max_instalments": 24,
        "max_deferral_days": 90,
    },
    AuthorityLevel.MANAGER: {},
}


def promise_grace_days() -> int:
    return int(getattr(settings, "DOORSTEP_PROMISE_GRACE_DAYS", 3))


def promise_max_days_ahead() -> int:
    return int(getattr(settings, "DOORSTEP_PROMISE_MAX_DAYS_AHEAD", 30))


def instalment_grace_days() -> int:
    return int(getattr(settings, "DOORSTEP_INSTALMENT_GRACE_DAYS", 5))


def plan_broken_after_missed() -> int:
    return int(getattr(settings, "DOORSTEP_PLAN_BROKEN_AFTER_MISSED", 2))


def reminder_days_before() -> int:
    return int(getattr(settings, "DOORSTEP_REMINDER_DAYS_BEFORE", 2))


def plan_authority() -> dict[str, dict[str, Any]]:
    return getattr(settings, "DOORSTEP_PLAN_AUTHORITY", DEFAULT_PLAN_AUTHORITY)


def affordability_policy() -> AffordabilityPolicy:
    given = getattr(settings, "DOORSTEP_AFFORDABILITY", {})
    policy = AffordabilityPolicy()
    return AffordabilityPolicy(
        allowance_per_dependant=Decimal(str(given.get("allowance_per_dependant", policy.allowance_per_dependant))),
        share_of_surplus=Decimal(str(given.get("share_of_surplus", policy.share_of_surplus))),
        minimum_instalment=Decimal(str(given.get("minimum_instalment", policy.minimum_instalment))),
        max_instalments=int(given.get("max_instalments", policy.max_instalments)),
    )


@dataclass(frozen=True)
class PlanTerms:
    total: Decimal
    forgiven: Decimal
    discount_percent: Decimal
    instalments: int
    deferral_days: int


def within(level: str, terms: PlanTerms) -> bool:
    limits = plan_authority().get(level, {})
    checks = (
        ("max_total", terms.total),
        ("max_forgiven", terms.forgiven),
        ("max_discount_percent", terms.discount_percent),
        ("max_instalments", terms.instalments),
        ("max_deferral_days", terms.deferral_days),
    )
    return all(name not in limits or Decimal(str(value)) <= Decimal(str(limits[name])) for name, value in checks)


def required_level(terms: PlanTerms) -> AuthorityLevel:
    """The lowest level whose limits cover the plan."""
    for level in LEVELS:
        if within(level, terms):
            return level
    return AuthorityLevel.MANAGER


def user_level(user: Any) -> AuthorityLevel | None:
    roles = user_roles(user)
    if roles & {Role.MANAGER, Role.ADMIN}:
        return AuthorityLevel.MANAGER
    if Role.SUPERVISOR in roles:
        return AuthorityLevel.SUPERVISOR
    if Role.COLLECTOR in roles:
        return AuthorityLevel.COLLECTOR
    return None


def level_covers(have: AuthorityLevel | None, need: str) -> bool:
    return have is not None and LEVELS.index(have) >= LEVELS.index(AuthorityLevel(need))
