"""`doorstep import-snapshot FILE`: load the bank's daily overdue-loan snapshot from the command line."""

from __future__ import annotations

import csv
import datetime as dt
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from doorstep.portfolio.intake import SnapshotRejected
from doorstep.portfolio.services import snapshot_import
from doorstep.portfolio.tasks import COUNT_FIELDS

SHOWN_ERRORS = 50
# Progress lines appear once a run has taken this long (small files just print the summary).
PROGRESS_AFTER_SECONDS = 1.0


def business_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--date must be YYYY-MM-DD, not {text!r}") from error


class Command(BaseCommand):
    help = "Import the bank's daily overdue-loan snapshot (CSV in UTF-8 or GBK/GB18030, or Parquet)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--date", help="the snapshot date the file must carry (YYYY-MM-DD)")
        parser.add_argument(
            "--encoding",
            choices=["utf-8", "gbk", "gb18030"],
            help="text encoding of a CSV file (default: detect)",
        )
        parser.add_argument("--errors-out", type=Path, help="write every reported problem to this CSV file")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        started = time.perf_counter()
        verbosity = options["verbosity"]

        def progress(stage: str, done: int, total: int) -> None:
            elapsed = time.perf_counter() - started
            if verbosity >= 2 or (verbosity >= 1 and elapsed >= PROGRESS_AFTER_SECONDS):
                self.stdout.write(f"{elapsed:8.1f}s  {stage:<10} {done:>12,} / {total:,} rows")

        try:
            result = snapshot_import(
                actor=None,
                path=path,
                snapshot_date=business_date(options["date"]) if options["date"] else None,
                encoding=options["encoding"],
                progress=progress,
            )
        except SnapshotRejected as rejected:
            self.report(rejected, options["errors_out"])
            raise CommandError(
                f"{path.name} was refused: {rejected.total} problem(s); nothing was imported."
            ) from None
        elapsed = time.perf_counter() - started
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        if result.already_imported:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{path.name}: already imported — the portfolio already reflects this snapshot of "
                    f"{result.snapshot_date}; nothing was written ({elapsed:.1f}s)."
                )
            )
            return
        counts = ", ".join(f"{name.replace('_', ' ')} {getattr(result, name):,}" for name in COUNT_FIELDS)
        self.stdout.write(
            self.style.SUCCESS(
                f"{path.name}: snapshot of {result.snapshot_date} imported, {result.rows:,} rows in {elapsed:.1f}s "
                f"(import #{result.pk})."
            )
        )
        self.stdout.write(counts)

    def report(self, rejected: SnapshotRejected, errors_out: Path | None) -> None:
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
            kept = len(rejected.errors)
            note = f" (the first {kept:,} of {rejected.total:,})" if kept < rejected.total else ""
            self.stderr.write(f"problems written to {errors_out}{note}")
