"""Benchmark of the payments import against a plain per-row ORM import, measured in the same run.

    python bench/payments.py --payments 1000000 --database postgres://postgres@127.0.0.1:5432/doorstep_bench_payments
    python bench/payments.py --payments 100000 --database sqlite:///var/bench-payments.sqlite3

It creates a fresh database (PostgreSQL: drops and creates the named database; SQLite: a new file), runs the
migrations, loads `--accounts` loans (default: as many as payments) through the snapshot import with
`doorstep.portfolio.demo_data`, settles the database as the hours between the morning snapshot and a payments
file would (on PostgreSQL: vacuum, analyze, checkpoint), then writes one payments file: one payment on most loans (a share of its
overdue amount; 0.2% pay everything and their case is cured), a second payment on some, and reversals of 1%
of them. It imports the file once and measures it, imports it again (every row a duplicate), and runs a
baseline over `--baseline-rows` other payments: one ORM query after another per payment (find the loan,
check the transaction id, waterfall in Python, create the payment with its allocation, update the loan and
its case), rolled back. speed-up = our payments per second / the baseline's. The last line holds every
figure as name=value.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SNAPSHOT_DAY = dt.date(2026, 11, 27)

from bench.intake import fresh_database  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def payments_frame(loans, count: int, seed: int, prefix: str = "T"):  # type: ignore[no-untyped-def]
    """`count` rows: payments on random loans (some loans twice), 1% of them reversed at the end."""
    import numpy as np
    import polars as pl

    from doorstep.portfolio.intake import fen_text

    rng = np.random.default_rng(seed)
    reversals = count // 100
    payments = count - reversals
    picks = rng.integers(0, loans.height, payments)
    chosen = loans[picks]
    overdue = chosen["overdue_fen"].to_numpy()
    share = rng.choice([10, 20, 25, 30, 50, 70], payments) / 100
    full = rng.random(payments) < 0.002
    amount = np.maximum(1, np.where(full, overdue, (overdue * share).astype(np.int64)))
    minutes = rng.integers(0, 24 * 60, payments)
    paid = pl.select(
        (pl.datetime(2026, 11, 27) + pl.duration(minutes=pl.Series(minutes))).dt.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    ).to_series()
    frame = pl.DataFrame(
        {
            "txn_id": [f"{prefix}{index:09d}" for index in range(payments)],
            "loan_id": chosen["loan_id"],
            "amount": pl.select(fen_text(pl.lit(pl.Series(amount)))).to_series(),
            "currency": ["CNY"] * payments,
            "paid_at": paid,
            "channel": rng.choice(["counter", "mobile_banking", "transfer", "auto_debit", "wechat_pay", "alipay"], payments),
            "reversal_of": [""] * payments,
        }
    )
    reversed_rows = frame.sample(n=reversals, seed=seed, shuffle=True)
    reversal = reversed_rows.select(
        ("R" + pl.col("txn_id")).alias("txn_id"),
        "loan_id",
        ("-" + pl.col("amount")).alias("amount"),
        "currency",
        "paid_at",
        "channel",
        pl.col("txn_id").alias("reversal_of"),
    )
    return pl.concat([frame, reversal])


def baseline_import(rows) -> float:  # type: ignore[no-untyped-def]
    """The per-row way, in one transaction that is rolled back. Returns seconds."""
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from doorstep.core.money import from_fen, to_fen
    from doorstep.payments import waterfall
    from doorstep.payments.models import ALLOCATED, Payment, PaymentImport
    from doorstep.portfolio.models import Case, Loan

    started = time.perf_counter()
    with transaction.atomic():
        now = timezone.now()
        record = PaymentImport.objects.create(
            file_name="baseline", file_sha256="", rows=rows.height, started_at=now, finished_at=now,
            imported_by_label="bench",
        )
        for row in rows.iter_rows(named=True):
            loan = Loan.objects.select_for_update().get(loan_id=row["loan_id"])
            if Payment.objects.filter(txn_id=row["txn_id"]).exists():
                continue
            amount = Decimal(row["amount"])
            owed = {
                waterfall.PENALTY: to_fen(loan.penalty_interest),
                waterfall.INTEREST: to_fen(loan.overdue_interest),
                waterfall.PRINCIPAL: to_fen(loan.overdue_principal),
            }
            split = waterfall.allocation(owed, waterfall.DEFAULT_ORDER, 0, to_fen(amount))
            Payment.objects.create(
                txn_id=row["txn_id"], loan=loan, case_id=loan.case_id, amount=amount, currency=row["currency"],
                paid_at=dt.datetime.fromisoformat(row["paid_at"]), channel=row["channel"], state="applied",
                payment_import=record, **{ALLOCATED[component]: from_fen(fen) for component, fen in split.items()},
            )
            loan.penalty_interest -= from_fen(split[waterfall.PENALTY])
            loan.overdue_interest -= from_fen(split[waterfall.INTEREST])
            loan.overdue_principal -= from_fen(split[waterfall.PRINCIPAL])
            loan.outstanding_principal -= from_fen(split[waterfall.PRINCIPAL])
            loan.save(update_fields=["penalty_interest", "overdue_interest", "overdue_principal", "outstanding_principal"])
            case = Case.objects.select_for_update().get(pk=loan.case_id)
            case.overdue_total = max(case.overdue_total - amount + from_fen(split[waterfall.EXCESS]), Decimal("0"))
            case.save(update_fields=["overdue_total"])
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def settle(connection) -> None:  # type: ignore[no-untyped-def]
    """Bring the database to where it stands when a day's payments file arrives, hours after the snapshot:
    autovacuum has visited the new rows and the load's writes are checkpointed. Without this, the timed
    import shares the machine with that work."""
    if connection.vendor != "postgresql":
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CHECKPOINT")
    print(f"settled the database (vacuum, analyze, checkpoint) in {time.perf_counter() - started:.1f}s", flush=True)


def balances():  # type: ignore[no-untyped-def]
    from django.db.models import Sum

    from doorstep.portfolio.models import Loan

    return Loan.objects.aggregate(
        penalty=Sum("penalty_interest"), interest=Sum("overdue_interest"), principal=Sum("overdue_principal"),
        outstanding=Sum("outstanding_principal"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=0, help="loans to load first (default: --payments)")
    parser.add_argument("--database", default="sqlite:///var/bench-payments.sqlite3")
    parser.add_argument("--baseline-rows", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument(
        "--reuse-loans", action="store_true",
        help="keep the database of an earlier run whose loans hold no payments yet (skips the slow load)",
    )
    options = parser.parse_args()
    accounts = options.accounts or options.payments

    if not options.reuse_loans:
        fresh_database(options.database)
    os.environ["DATABASE_URL"] = options.database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
    import django

    django.setup()
    import polars as pl
    from django.core.management import call_command
    from django.db import connection

    from doorstep.core import bulk
    from doorstep.payments.models import Payment
    from doorstep.payments.services import payments_import
    from doorstep.portfolio import demo_data
    from doorstep.portfolio.models import Case, CaseStatus, Loan
    from doorstep.portfolio.services import snapshot_import

    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory(prefix="doorstep-bench-payments-") as folder:
        started = time.perf_counter()
        if options.reuse_loans and Payment.objects.exists():
            raise SystemExit("--reuse-loans needs a database whose loans have no payments yet")
        if not (options.reuse_loans and Loan.objects.count() >= accounts):
            snapshot = demo_data.generate_snapshot(accounts=accounts, seed=options.seed, snapshot_date=SNAPSHOT_DAY)
            snapshot_file = demo_data.write_snapshot(snapshot, Path(folder) / "snapshot.csv")
            del snapshot
            snapshot_import(actor=None, path=snapshot_file)
        load_s = time.perf_counter() - started
        print(f"loaded {accounts:,} loans through the snapshot import in {load_s:.1f}s", flush=True)
        settle(connection)

        loans = bulk.read_frame(
            "SELECT loan_id, CAST(ROUND((overdue_principal + overdue_interest + penalty_interest) * 100) AS BIGINT) "
            "FROM portfolio_loan ORDER BY id",
            {"loan_id": pl.String, "overdue_fen": pl.Int64},
        )
        frame = payments_frame(loans, options.payments, options.seed)
        path = Path(folder) / "payments.csv"
        frame.write_csv(path)
        baseline_rows = payments_frame(loans, options.baseline_rows, options.seed + 1, prefix="B").filter(
            pl.col("reversal_of") == ""
        )
        print(f"wrote {frame.height:,} payments ({path.stat().st_size / 1e6:.0f} MB CSV)", flush=True)

        started = time.perf_counter()
        result = payments_import(actor=None, path=path)
        import_s = time.perf_counter() - started
        after_first = balances()
        print(f"imported in {import_s:.1f}s", flush=True)
        started = time.perf_counter()
        again = payments_import(actor=None, path=path)
        again_s = time.perf_counter() - started
        assert getattr(again, "already_imported", False) and balances() == after_first
        peak = peak_rss_mb()
        print(f"baseline: per-row ORM import of {baseline_rows.height:,} payments", flush=True)
        baseline_s = baseline_import(baseline_rows)

    rate = frame.height / import_s
    baseline_rate = baseline_rows.height / baseline_s
    cured = Case.objects.filter(status=CaseStatus.CURED).count()
    rows = [
        ("database", f"{connection.vendor} ({options.database.split('@')[-1]})"),
        ("loans loaded", f"{accounts:,} in {load_s:.1f} s (snapshot import, not timed below)"),
        ("payments file", f"{frame.height:,} rows ({result.payments_added:,} payments, {result.reversals_added:,} reversals)"),
        ("import", f"{import_s:.1f} s  ({rate:,.0f} payments/s)"),
        ("  cases cured", f"{result.cases_cured:,} (cured in database: {cured:,})"),
        ("same file again", f"{again_s:.1f} s, nothing written (balances unchanged)"),
        ("peak memory (RSS)", f"{peak:,.0f} MB"),
        ("baseline per-row ORM", f"{baseline_s:.1f} s for {baseline_rows.height:,} ({baseline_rate:,.0f} payments/s)"),
        ("speed-up", f"{rate / baseline_rate:.1f}x"),
        ("payments in database", f"{Payment.objects.count():,}"),
        ("cores / load average", f"{os.cpu_count()} / {os.getloadavg()[0]:.2f}"),
    ]
    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    figures = {
        "payments": frame.height,
        "import_s": f"{import_s:.2f}",
        "payments_per_s": f"{rate:.0f}",
        "reimport_s": f"{again_s:.2f}",
        "baseline_per_s": f"{baseline_rate:.0f}",
        "speedup": f"{rate / baseline_rate:.1f}",
        "peak_rss_mb": f"{peak:.0f}",
    }
    print(" ".join(f"{name}={value}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
