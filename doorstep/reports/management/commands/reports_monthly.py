"""`doorstep reports-monthly --month YYYY-MM`: generate (again) a month's management report, both languages."""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from doorstep.reports.services import monthly_report_generate


class Command(BaseCommand):
    help = "Generate the monthly management report (PDF, zh-Hans and English) and keep it in the archive."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            month = dt.datetime.strptime(options["month"], "%Y-%m").date()
        except ValueError as error:
            raise CommandError("--month must be YYYY-MM, e.g. 2026-10") from error
        for report in monthly_report_generate(actor="system:command", month=month):
            self.stdout.write(f"{report.month:%Y-%m} {report.language}: {report.size_bytes:,} bytes (id {report.pk})")
