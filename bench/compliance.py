"""Throughput of the compliance gate, `check()`, over a large shared contact ledger on PostgreSQL.

    .venv/bin/python bench/compliance.py --events 10000000 --borrowers 1000000 \
        --database postgres://postgres@127.0.0.1:5432/doorstep_bench_compliance

It creates the named database (dropping it first), runs the migrations, generates borrowers, cases and
ledger rows with Polars and loads them with COPY (indexes built after the load), then times, in this one
Python thread:
  * `check()` on a random sample of borrowers and proposed contacts (calls, SMS, two-collector visits,
    third-party calls, all hours of the day), each a full verdict with earliest time;
  * `check_many()` in batches of 500 (a planner's day), per action;
  * a baseline: the gate's own ledger query alone, executed and fetched through the same connection,
    so `gate_vs_query` says how much of a check is the database round trip.
The database is dropped at the end (pass --keep to keep it). The last line holds name=value pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
HISTORY_DAYS = 30
CHUNK = 1_000_000


def maintenance_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise SystemExit("this benchmark needs PostgreSQL: --database postgres://…/doorstep_bench_compliance")
    if not name or name in {"postgres", "template0", "template1"}:
        raise SystemExit("give the benchmark a database of its own, e.g. …/doorstep_bench_compliance")
    return urlunparse(parsed._replace(path="/postgres")), name


def recreate(url: str, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    maintenance, name = maintenance_url(url)
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def copy_frame(cursor, table: str, frame) -> None:  # type: ignore[no-untyped-def]
    columns = ", ".join(frame.columns)
    for offset in range(0, frame.height, CHUNK):
        buffer = io.BytesIO()
        frame.slice(offset, CHUNK).write_csv(buffer, include_header=False, null_value="\\N", datetime_format="%Y-%m-%dT%H:%M:%S%z")
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
            copy.write(buffer.getvalue())


def load(borrowers: int, events: int, seed: int) -> dict[str, float]:
    import polars as pl
    from django.db import connection

    started = time.perf_counter()
    rng_ids = pl.int_range(1, borrowers + 1, eager=True)
    borrower_frame = pl.DataFrame(
        {
            "id": rng_ids,
            "customer_id": "C" + rng_ids.cast(pl.String).str.zfill(10),
        }
    ).with_columns(
        name=pl.lit("借款人"),
        national_id_encrypted=pl.lit("bench"),
        national_id_hash=pl.col("customer_id"),
        national_id_masked=pl.lit("510104********0000"),
        phone_encrypted=pl.lit("bench"),
        phone_hash=pl.col("customer_id"),
        phone_masked=pl.lit("138****0000"),
        address=pl.lit("四川省成都市"),
        # One borrower in six lives in Xinjiang and is judged on Ürümqi time.
        time_zone=pl.when(pl.col("id") % 6 == 4).then(pl.lit("Asia/Urumqi")).otherwise(pl.lit("")),
        employer=pl.lit(""),
        is_vulnerable=(pl.col("id") % 97 == 0),
        is_deceased=(pl.col("id") % 1009 == 0),
        has_dispute=(pl.col("id") % 211 == 0),
        do_not_visit=(pl.col("id") % 89 == 0),
        created_at=pl.lit(NOW),
        updated_at=pl.lit(NOW),
    )
    case_frame = pl.DataFrame({"id": rng_ids, "borrower_id": rng_ids}).with_columns(
        status=pl.lit("open"),
        opened_on=pl.lit(dt.date(2026, 10, 1)),
        snapshot_date=pl.lit(dt.date(2026, 11, 29)),
        branch_code=pl.lit("CD001"),
        days_past_due=pl.lit(45),
        bucket=pl.lit("M2"),
        outstanding_principal=pl.lit("20000.00"),
        overdue_principal=pl.lit("3000.00"),
        overdue_interest=pl.lit("150.00"),
        penalty_interest=pl.lit("20.50"),
        overdue_total=pl.lit("3170.50"),
        entry_overdue_total=pl.lit("3170.50"),
        next_action=pl.lit(""),
        created_at=pl.lit(NOW),
        updated_at=pl.lit(NOW),
    )
    frames = time.perf_counter()
    with connection.cursor() as cursor:
        # The generated rows are consistent by construction: skip the per-row foreign-key triggers.
        cursor.execute("SET session_replication_role = replica")
        copy_frame(cursor, "portfolio_borrower", borrower_frame)
        copy_frame(cursor, "portfolio_case", case_frame)
    del borrower_frame, case_frame
    borrowers_loaded = time.perf_counter()

    # The ledger: `events` rows over the last HISTORY_DAYS days, uniformly over borrowers.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'compliance_contactevent' "
            "AND indexname NOT LIKE '%%pkey'"
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    seconds = HISTORY_DAYS * 86400
    for offset in range(0, events, CHUNK):
        size = min(CHUNK, events - offset)
        base = pl.DataFrame({"n": pl.int_range(offset, offset + size, eager=True)})
        # A multiplicative hash spreads rows over borrowers, times, channels and outcomes deterministically.
        mix = (pl.col("n") * 2654435761 + seed) % 4294967296
        frame = base.select(
            id=pl.col("n") + 1,
            borrower_id=(mix % borrowers) + 1,
            started_at=pl.lit(NOW) - pl.duration(seconds=(mix // 7) % seconds),
            channel=pl.when(mix % 10 < 7).then(pl.lit("call")).when(mix % 10 < 9).then(pl.lit("sms")).otherwise(pl.lit("visit")),
            connected=(mix // 11) % 3 == 0,
            right_party=(mix // 11) % 6 == 0,
            outcome_code=pl.lit(""),
            verdict=pl.when(mix % 50 == 0).then(pl.lit("refused")).otherwise(pl.lit("allowed")),
            contact_point_hash=pl.format("p{}", (mix % borrowers) + 1),
        ).with_columns(
            case_id=pl.col("borrower_id"),
            direction=pl.lit("outbound"),
            target=pl.lit("debtor"),
            target_relation=pl.lit(""),
            actor_label=pl.lit("bench"),
            rules_fired=pl.lit("[]"),
            rule_set_version=pl.lit("CN-v1"),
            override_reason=pl.lit(""),
            created_at=pl.col("started_at"),
            purpose=pl.lit("collect"),
            place=pl.lit("home"),
            with_consent=pl.lit(False),
            near_miss=pl.lit(False),
        )
        with connection.cursor() as cursor:
            copy_frame(cursor, "compliance_contactevent", frame)
    ledger_loaded = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
        for _name, definition in indexes:
            cursor.execute(definition)
        for table in ("portfolio_borrower", "portfolio_case", "compliance_contactevent"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            cursor.execute(f"ANALYZE {table}")
    indexed = time.perf_counter()
    return {
        "generate_s": round(frames - started, 1),
        "copy_borrowers_s": round(borrowers_loaded - frames, 1),
        "copy_ledger_s": round(ledger_loaded - borrowers_loaded, 1),
        "index_s": round(indexed - ledger_loaded, 1),
    }


def proposals(count: int, borrowers: int, collectors: tuple[int, int], seed: int) -> list:  # type: ignore[type-arg]
    from doorstep.compliance.services import ContactAction

    rng = random.Random(seed)
    actions = []
    for _ in range(count):
        case_id = rng.randint(1, borrowers)
        start = NOW + dt.timedelta(minutes=rng.randint(-12 * 60, 12 * 60))
        kind = rng.random()
        if kind < 0.6:
            action = ContactAction(case_id=case_id, channel="call", start=start, contact_point_hash=f"p{case_id}")
        elif kind < 0.8:
            action = ContactAction(case_id=case_id, channel="sms", start=start, contact_point_hash=f"p{case_id}")
        elif kind < 0.95:
            action = ContactAction(
                case_id=case_id, channel="visit", start=start, end=start + dt.timedelta(minutes=45),
                collector_ids=collectors,
            )
        else:
            action = ContactAction(
                case_id=case_id, channel="call", start=start, target="third_party", purpose="locate",
                contact_point_hash=f"q{rng.randint(1, borrowers)}",
            )
        actions.append(action)
    return actions


def staff() -> tuple[int, int]:
    from django.contrib.auth.models import User

    from doorstep.collectors.models import Certificate, Collector, Team

    team = Team.objects.create(name="锦江一组", branch_code="CD001")
    ids = []
    for index in range(2):
        user = User.objects.create_user(username=f"bench{index}")
        collector = Collector.objects.create(user=user, team=team, badge_number=f"CD{index:04d}")
        for kind in ("pre_job", "annual"):
            Certificate.objects.create(collector=collector, kind=kind, issued_on=dt.date(2026, 1, 1), expires_on=dt.date(2027, 1, 1))
        ids.append(collector.pk)
    return ids[0], ids[1]


def measure(actions: list, batch: int) -> dict[str, float]:  # type: ignore[type-arg]
    from doorstep.compliance import services

    for action in actions[:200]:  # warm caches and the connection
        services.check(action)
    started = time.perf_counter()
    refused = 0
    for action in actions:
        if not services.check(action).allowed:
            refused += 1
    check_seconds = time.perf_counter() - started

    started = time.perf_counter()
    for first in range(0, len(actions), batch):
        services.check_many(actions[first : first + batch])
    many_seconds = time.perf_counter() - started

    sql = services._facts_sql(1)
    started = time.perf_counter()
    for action in actions:
        services._fetch(sql, [action.start - services.MIN_REACH, action.start + services.MIN_REACH, action.case_id])
    query_seconds = time.perf_counter() - started
    count = len(actions)
    return {
        "checks": count,
        "refused_share": round(refused / count, 3),
        "checks_per_second": round(count / check_seconds),
        "check_many_per_second": round(count / many_seconds),
        "query_only_per_second": round(count / query_seconds),
        "gate_vs_query": round(query_seconds / check_seconds, 2),
        "mean_check_us": round(check_seconds / count * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--borrowers", type=int, default=1_000_000)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/doorstep_bench_compliance")
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    arguments = parser.parse_args()

    recreate(arguments.database)
    os.environ["DATABASE_URL"] = arguments.database
    os.environ["DOORSTEP_DEBUG"] = "false"  # no query log growing in memory while timing
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        figures: dict[str, float] = {"events": arguments.events, "borrowers": arguments.borrowers}
        figures.update(load(arguments.borrowers, arguments.events, arguments.seed))
        collectors = staff()
        actions = proposals(arguments.checks, arguments.borrowers, collectors, arguments.seed)
        figures.update(measure(actions, arguments.batch))
        print(f"ledger: {arguments.events:,} events over {arguments.borrowers:,} borrowers "
              f"(load {figures['copy_ledger_s']} s, indexes {figures['index_s']} s)")
        print(f"check(): {figures['checks_per_second']:,} per second single-threaded "
              f"({figures['mean_check_us']} µs each; the ledger query alone: {figures['query_only_per_second']:,}/s)")
        print(f"check_many(): {figures['check_many_per_second']:,} actions per second in batches of {arguments.batch}")
        print(" ".join(f"{name}={value}" for name, value in figures.items()))
    finally:
        connections.close_all()
        if not arguments.keep:
            recreate(arguments.database, drop_only=True)


if __name__ == "__main__":
    main()
