"""What `doorstep demo` hands to each app that adds to the demo.

An app joins the demo with a `demo.py` that defines `demo_run(context: DemoContext) -> None`; the command
calls them in DEMO_APPS order after the portfolio, staff, contacts and the first daily run exist, then
each app's optional `demo_late_run(context)` in the same order. Each must be safe to run again on the same database (find what it made before; make it only once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from importlib.util import find_spec

from django.contrib.auth.models import User

DEMO_APPS = (
    "collectors",
    "scoring",
    "visits",
    "arrangements",
    "payments",
    "notify",
    "feedback",
    "portal",
    "reports",
)
DEMO_ACTOR = "system:demo"


@dataclass(frozen=True)
class DemoContext:
    snapshot_date: dt.date
    accounts: int
    seed: int
    admin: User
    manager: User
    say: Callable[[str], None]


def demo_steps() -> list[tuple[str, Callable[[DemoContext], None]]]:
    steps, late = [], []
    for app in DEMO_APPS:
        if find_spec(f"doorstep.{app}.demo") is not None:
            module = import_module(f"doorstep.{app}.demo")
            steps.append((app, module.demo_run))
            # An app whose demo needs what later apps make (visits to review) finishes after them all.
            if hasattr(module, "demo_late_run"):
                late.append((f"{app} (after the others)", module.demo_late_run))
    return steps + late
