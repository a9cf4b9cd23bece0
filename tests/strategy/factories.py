"""Strategy versions for tests, written through the services as a manager would."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from doorstep.strategy import services
from doorstep.strategy.models import StrategyVersion

STANDARD_RULES: list[tuple[str, str, list[dict[str, Any]]]] = [
    ("Do not visit", "do_not_visit or is_deceased or has_dispute", [{"channel": "letter", "day": 0}]),
    (
        "Early",
        "bucket = M1",
        [
            {"channel": "sms", "day": 0, "script": "sms_reminder"},
            {"channel": "call", "day": 3, "script": "call_early"},
        ],
    ),
    (
        "Big M2",
        "bucket = M2 and overdue_amount >= 3000",
        [
            {"channel": "call", "day": 0, "script": "call_m2"},
            {"channel": "visit", "day": 5, "every": 14, "script": "visit_first", "priority": 1},
        ],
    ),
    ("Late", "always", [{"channel": "visit", "day": 0, "script": "visit_first", "priority": 2}]),
]


def make_version(
    manager: User, rules: list[tuple[str, str, list[dict[str, Any]]]] | None = None, code: str = "standard"
) -> StrategyVersion:
    version = services.strategy_create(actor=manager, code=code, name="标准策略")
    for name, condition, steps in rules if rules is not None else STANDARD_RULES:
        services.rule_save(actor=manager, version_id=version.pk, name=name, condition=condition, steps=steps)
    version.refresh_from_db()
    return version


def activate(version: StrategyVersion, submitter: User, approver: User) -> StrategyVersion:
    services.version_submit(actor=submitter, version_id=version.pk, note="test")
    return services.version_approve(actor=approver, version_id=version.pk)
