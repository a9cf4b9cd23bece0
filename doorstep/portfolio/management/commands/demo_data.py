"""`doorstep demo-data`: write a demo overdue-loan snapshot file, as the bank's core system would send it."""

from __future__ import annotations

import datetime as dt
import time
from argparse import ArgumentParser, ArgumentTypeError
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from doorstep.portfolio.demo_data import CSV_ENCODINGS, FILE_FORMATS, generate_snapshot, write_snapshot

DEFAULT_ACCOUNTS = 3_000
DEFAULT_SEED = 20_260_101


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise ArgumentTypeError(f"not a whole number: {text!r}") from error
    if value < 1:
        raise ArgumentTypeError("must be at least 1")
    return value


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise ArgumentTypeError(f"not a date written YYYY-MM-DD: {text!r}") from error


def default_snapshot_path(*, accounts: int, seed: int, snapshot_date: dt.date, file_format: str) -> Path:
    directory = Path(settings.DOORSTEP_DEMO_DIR)
    return directory / f"snapshot-{snapshot_date.isoformat()}-{accounts}-{seed}.{file_format}"


class Command(BaseCommand):
    help = "Write a demo overdue-loan snapshot (Chengdu borrowers) for the given number of loans."
    # It only writes a file: no database, no URLs, nothing for the system checks to vouch for.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--accounts", type=positive_int, default=DEFAULT_ACCOUNTS, help="number of loans (rows)")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the same seed gives the same portfolio")
        parser.add_argument("--date", type=iso_date, default=None, help="snapshot date YYYY-MM-DD (default: today)")
        parser.add_argument("--out", type=Path, default=None, help="file to write (default: under var/demo/)")
        parser.add_argument("--format", dest="file_format", choices=FILE_FORMATS, default="csv")
        parser.add_argument("--encoding", choices=CSV_ENCODINGS, default="utf-8", help="CSV encoding")

    def handle(self, *args: Any, **options: Any) -> None:
        accounts: int = options["accounts"]
        seed: int = options["seed"]
        snapshot_date: dt.date = options["date"] or timezone.localdate()
        file_format: str = options["file_format"]
        if file_format == "parquet" and options["encoding"] != "utf-8":
            raise CommandError("--encoding applies to CSV only; Parquet has no text encoding.")
        path: Path = options["out"] or default_snapshot_path(
            accounts=accounts, seed=seed, snapshot_date=snapshot_date, file_format=file_format
        )
        started = time.perf_counter()
        frame = generate_snapshot(accounts=accounts, seed=seed, snapshot_date=snapshot_date)
        try:
            write_snapshot(frame, path, file_format=file_format, encoding=options["encoding"])
        except OSError as error:
            raise CommandError(f"Could not write {path}: {error}") from error
        borrowers = frame["customer_id"].n_unique()
        self.stdout.write(
            f"Wrote {frame.height} loans of {borrowers} borrowers, snapshot date {snapshot_date.isoformat()}, "
            f"to {path} ({time.perf_counter() - started:.1f} s)"
        )
