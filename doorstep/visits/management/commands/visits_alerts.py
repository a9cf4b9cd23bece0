from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from doorstep.visits.field_services import alerts_overdue_raise


class Command(BaseCommand):
    help = (
        "Alert team leads about visits checked in and not checked out within their planned time plus the margin "
        "(DOORSTEP_VISIT_OVERDUE_MARGIN_MINUTES). Safe to run every few minutes: each visit is alerted once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="Judge as of this time (ISO 8601 with a time zone); default now.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["now"]:
            now = dt.datetime.fromisoformat(options["now"])
            if timezone.is_naive(now):
                raise CommandError("--now needs a time zone, e.g. 2026-11-30T15:00+08:00")
        raised = alerts_overdue_raise(now=now, actor="system:visit-alerts")
        self.stdout.write(f"overdue visit alerts raised: {raised}")
