from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from doorstep.compliance.services import retention_run


class Command(BaseCommand):
    help = "Anonymise or purge contact-ledger rows past their retention period, per rule set, and say what was done."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would be done; change nothing.")
        parser.add_argument("--today", type=dt.date.fromisoformat, help="Judge as of this date (YYYY-MM-DD).")

    def handle(self, *args: Any, **options: Any) -> None:
        today = options["today"] or timezone.localdate()
        run = retention_run(actor="system:retention", today=today, dry_run=options["dry_run"])
        verb = "would" if run.dry_run else "did"
        for key, detail in sorted(run.details.items()):
            self.stdout.write(
                f"{key}: {detail['rows']} rows before {detail['before']} "
                f"({detail['rule']}, {detail['years']} years, {detail['action']})"
            )
        self.stdout.write(
            f"retention as of {today}: {verb} anonymise {run.anonymised} and purge {run.purged} ledger rows"
            + (" (dry run, nothing changed)" if run.dry_run else "")
        )
