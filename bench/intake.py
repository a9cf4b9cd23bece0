"""Benchmark of the overdue-loan snapshot import against a plain per-row ORM import.

    python bench/intake.py --accounts 1000000 --database postgres://postgres@127.0.0.1:5432/doorstep_bench
    python bench/intake.py --accounts 100000 --database sqlite:///var/bench.sqlite3

It creates a fresh database (PostgreSQL: drops and creates the named database; SQLite: a new file), runs
the migrations, generates the snapshot with `doorstep.portfolio.demo_data`, and measures:
the first load of N accounts, a re-import of the same day's file with 5% of rows changed, the peak
memory of this process, and a baseline (borrower, case, loan and bucket move created through the ORM
one row at a time, validation skipped) over 10,000 other accounts, so speedup = ours / baseline
(accounts per second). The last line holds every figure as name=value.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_DAY = dt.date(2026, 11, 27)


def fresh_database(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = Path(parsed.path[1:] if parsed.path.startswith("//") else parsed.path.lstrip("/"))
        path = path if path.is_absolute() else ROOT / path
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg
    from psycopg import sql

    name = parsed.path.lstrip("/")
    if not name or name in {"postgres", "template0", "template1"}:
        raise SystemExit("give the benchmark a database of its own, e.g. postgres://…/doorstep_bench")
    maintenance = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline_import(frame) -> float:  # type: ignore[no-untyped-def]
    """The per-row way: one ORM call per borrower, case, loan and bucket move. Returns seconds."""
    from decimal import Decimal

    from django.db import transaction

    from doorstep.core.crypto import encrypt_text, lookup_hash
    from doorstep.core.masking import mask_national_id, mask_phone
    from doorstep.portfolio.models import Borrower, BucketMove, Case, Loan

    def bucket(days: int) -> str:
        return "M1" if days <= 30 else "M2" if days <= 60 else "M3" if days <= 90 else "M4+"

    started = time.perf_counter()
    with transaction.atomic():
        for row in frame.iter_rows(named=True):
            day = dt.date.fromisoformat(row["snapshot_date"])
            days = int(row["days_past_due"])
            overdue = [
                Decimal(row[name]) for name in ("overdue_principal", "overdue_interest", "penalty_interest")
            ]
            borrower = Borrower.objects.filter(customer_id=row["customer_id"]).first()
            if borrower is None:
                borrower = Borrower.objects.create(
                    customer_id=row["customer_id"],
                    name=row["name"],
                    national_id_encrypted=encrypt_text(row["national_id"]),
                    national_id_hash=lookup_hash(row["national_id"]),
                    national_id_masked=mask_national_id(row["national_id"]),
                    phone_encrypted=encrypt_text(row["phone"]),
                    phone_hash=lookup_hash(row["phone"]),
                    phone_masked=mask_phone(row["phone"]),
                    address=row["address"],
                    latitude=Decimal(row["latitude"]) if row["latitude"] else None,
                    longitude=Decimal(row["longitude"]) if row["longitude"] else None,
                )
            case = Case.objects.filter(borrower=borrower, status="open").first()
            if case is None:
                case = Case.objects.create(
                    borrower=borrower,
                    opened_on=day,
                    snapshot_date=day,
                    branch_code=row["branch_code"],
                    days_past_due=days,
                    bucket=bucket(days),
                    overdue_total=sum(overdue),
                    entry_overdue_total=sum(overdue),
                )
            else:
                case.days_past_due = max(case.days_past_due, days)
                case.overdue_total += sum(overdue)
                case.save()
            loan = Loan.objects.create(
                loan_id=row["loan_id"],
                borrower=borrower,
                case=case,
                branch_code=row["branch_code"],
                product_code=row["product_code"],
                principal=Decimal(row["principal"]),
                outstanding_principal=Decimal(row["outstanding_principal"]),
                overdue_principal=overdue[0],
                overdue_interest=overdue[1],
                penalty_interest=overdue[2],
                first_unpaid_due_date=dt.date.fromisoformat(row["first_unpaid_due_date"]),
                days_past_due=days,
                bucket=bucket(days),
                snapshot_date=day,
            )
            BucketMove.objects.create(
                loan=loan,
                case=case,
                snapshot_date=day,
                to_bucket=bucket(days),
                days_past_due=days,
                overdue_amount=sum(overdue),
            )
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--database", default="sqlite:///var/bench-intake.sqlite3")
    parser.add_argument("--baseline-rows", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.05, help="share of rows changed for the re-import")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    options = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    fresh_database(options.database)
    os.environ["DATABASE_URL"] = options.database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from doorstep.portfolio import demo_data
    from doorstep.portfolio.models import Borrower, BucketMove, Case, Loan
    from doorstep.portfolio.services import snapshot_import

    call_command("migrate", verbosity=0)
    clock = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        if not options.quiet:
            print(f"    {time.perf_counter() - clock:7.1f}s  {stage:<10} {done:>10,}/{total:,}", flush=True)

    with tempfile.TemporaryDirectory(prefix="doorstep-bench-") as folder:
        started = time.perf_counter()
        frame = demo_data.generate_snapshot(
            accounts=options.accounts, seed=options.seed, snapshot_date=SNAPSHOT_DAY
        )
        first_file = demo_data.write_snapshot(frame, Path(folder) / "snapshot.csv")
        changed = demo_data.perturb_snapshot(frame, fraction=options.changed, seed=options.seed + 1)
        second_file = demo_data.write_snapshot(changed, Path(folder) / "snapshot-corrected.csv")
        del frame, changed
        generate_s = time.perf_counter() - started
        print(
            f"generated {options.accounts:,} accounts in {generate_s:.1f}s ({first_file.stat().st_size / 1e6:.0f} MB CSV)"
        )

        print("first load")
        clock = started = time.perf_counter()
        first = snapshot_import(actor=None, path=first_file, progress=progress)
        first_s = time.perf_counter() - started
        print(f"re-import with {options.changed:.0%} of rows changed")
        clock = started = time.perf_counter()
        second = snapshot_import(actor=None, path=second_file, progress=progress)
        second_s = time.perf_counter() - started
        peak = peak_rss_mb()

        baseline_frame = demo_data.generate_snapshot(
            accounts=options.baseline_rows, seed=options.seed + 2, snapshot_date=SNAPSHOT_DAY
        ).with_columns(
            ("B" + demo_data.pl.col("loan_id")).alias("loan_id"),
            ("B" + demo_data.pl.col("customer_id")).alias("customer_id"),
        )
        print(f"baseline: per-row ORM import of {options.baseline_rows:,} accounts")
        baseline_s = baseline_import(baseline_frame)

    counts = {model.__name__: model.objects.count() for model in (Borrower, Case, Loan, BucketMove)}
    first_rate = options.accounts / first_s
    second_rate = options.accounts / second_s
    baseline_rate = options.baseline_rows / baseline_s
    rows = [
        ("database", f"{connection.vendor} ({options.database.split('@')[-1]})"),
        ("accounts", f"{options.accounts:,}"),
        ("first load", f"{first_s:.1f} s  ({first_rate:,.0f} accounts/s)"),
        (
            "  created",
            f"{first.borrowers_created:,} borrowers, {first.loans_created:,} loans, {first.cases_opened:,} cases",
        ),
        ("re-import (5% changed)", f"{second_s:.1f} s  ({second_rate:,.0f} accounts/s)"),
        ("  changed", f"{second.loans_updated:,} loans, {second.cases_updated:,} cases"),
        ("peak memory (RSS)", f"{peak:,.0f} MB"),
        (
            "baseline per-row ORM",
            f"{baseline_s:.1f} s for {options.baseline_rows:,} ({baseline_rate:,.0f} accounts/s)",
        ),
        ("speed-up (first load)", f"{first_rate / baseline_rate:.1f}x"),
        ("rows in database", ", ".join(f"{name} {count:,}" for name, count in counts.items())),
        ("cores / load average", f"{os.cpu_count()} / {os.getloadavg()[0]:.2f}"),
    ]
    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    figures = {
        "accounts": options.accounts,
        "first_load_s": f"{first_s:.2f}",
        "first_load_per_s": f"{first_rate:.0f}",
        "reimport_s": f"{second_s:.2f}",
        "reimport_per_s": f"{second_rate:.0f}",
        "peak_rss_mb": f"{peak:.0f}",
        "baseline_per_s": f"{baseline_rate:.0f}",
        "speedup": f"{first_rate / baseline_rate:.1f}",
    }
    print(" ".join(f"{name}={value}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
