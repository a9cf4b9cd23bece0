"""`doorstep run-daily --date D [--snapshot FILE] [--payments FILE] [--wait]`: the daily cycle for one date."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doorstep.strategy import flows
from doorstep.strategy.models import DailyRun, RunStatus
from doorstep.strategy.tasks import SYSTEM_ACTOR, daily_run_enqueue


class Command(BaseCommand):
    help = "Run the daily cycle (intake, strategy, and the steps other domains add) for one business date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", required=True, help="business date, YYYY-MM-DD")
        parser.add_argument("--snapshot", help="the bank's overdue-loan snapshot for that date")
        parser.add_argument("--payments", help="the bank's payment file for that date")
        parser.add_argument(
            "--wait", action="store_true", help="run the steps here and now and print their summaries"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            business_date = dt.date.fromisoformat(options["date"])
        except ValueError as error:
            raise CommandError(f"--date must be YYYY-MM-DD, not {options['date']!r}") from error
        for name in ("snapshot", "payments"):
            if options[name]:
                from pathlib import Path

                if not Path(options[name]).is_file():
                    raise CommandError(f"--{name}: no such file {options[name]!r}")
        if options["payments"] and not any(step.name == "payments" for step in flows.DAILY_STEPS):
            self.stderr.write(
                "note: no payments step is installed yet; the payment file is kept for later runs."
            )
        run = flows.daily_run_prepare(
            actor=SYSTEM_ACTOR,
            business_date=business_date,
            snapshot=options["snapshot"],
            payments=options["payments"],
        )
        if not options["wait"]:
            daily_run_enqueue(run=run)
            self.stdout.write(
                f"daily run {business_date} queued ({len(flows.DAILY_STEPS)} steps); `doorstep db_worker` runs it"
            )
            return
        run = flows.daily_run_execute(run_id=run.pk, actor=SYSTEM_ACTOR)
        self._print(run)
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"daily run {business_date} did not finish: {run.status}")

    def _print(self, run: DailyRun) -> None:
        self.stdout.write(f"daily run {run.business_date}: {run.status}")
        for step in run.steps.order_by("position"):
            seconds = f"{step.seconds:.1f}s" if step.seconds is not None else "-"
            self.stdout.write(f"  {step.name:<12} {step.status:<10} {seconds:>8}  attempts={step.attempts}")
            if step.summary:
                self.stdout.write("    " + json.dumps(step.summary, ensure_ascii=False, default=str))
            if step.error:
                self.stdout.write("    " + step.error.splitlines()[0])
