"""`doorstep import-payments FILE`: load a payments file of the bank from the command line."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doorstep.payments.services import PaymentsRejected, payments_import

SHOWN_ERRORS = 50
COUNT_FIELDS = ("payments_added", "reversals_added", "reversals_waiting", "duplicates_skipped", "cases_cured")


class Command(BaseCommand):
    help = "Import a payments file of the bank (CSV in UTF-8 or GBK/GB18030, or Parquet); idempotent by txn_id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--encoding", choices=["utf-8", "gbk", "gb18030"], help="text encoding of a CSV file (default: detect)"
        )
        parser.add_argument("--errors-out", type=Path, help="write every reported problem to this CSV file")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        started = time.perf_counter()
        try:
            result = payments_import(actor=None, path=path, encoding=options["encoding"])
        except PaymentsRejected as rejected:
            self.report(rejected, options["errors_out"])
            raise CommandError(f"{path.name} was refused: {rejected.total} problem(s); nothing was imported.") from None
        elapsed = time.perf_counter() - started
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        if result.already_imported:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{path.name}: every transaction was imported before; nothing was written "
                    f"({result.duplicates_skipped:,} rows, {elapsed:.1f}s)."
                )
            )
            return
        self.stdout.write(
            self.style.SUCCESS(f"{path.name}: {result.rows:,} rows imported in {elapsed:.1f}s (import #{result.pk}).")
        )
        self.stdout.write(", ".join(f"{name.replace('_', ' ')} {getattr(result, name):,}" for name in COUNT_FIELDS))

    def report(self, rejected: PaymentsRejected, errors_out: Path | None) -> None:
        for error in rejected.errors[:SHOWN_ERRORS]:
            where = f"line {error.line}" + (f", {error.column}" if error.column else "")
            value = f" ({error.value!r})" if error.value else ""
            self.stderr.write(f"{where}{value}: {error.reason}")
        hidden = rejected.total - min(len(rejected.errors), SHOWN_ERRORS)
        if hidden > 0:
            self.stderr.write(f"… and {hidden:,} more problem(s).")
        if errors_out is not None:
            with errors_out.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["line", "column", "value", "reason"])
                for error in rejected.errors:
                    writer.writerow([error.line, error.column, error.value, error.reason])
            self.stderr.write(f"problems written to {errors_out}")
