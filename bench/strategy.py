"""The daily strategy step over a large portfolio on PostgreSQL, against the per-case evaluator.

    .venv/bin/python bench/strategy.py --cases 1000000 \
        --database postgres://postgres@127.0.0.1:5432/doorstep_bench_strategy

It creates the named database (dropping it first), runs the migrations, generates borrowers, cases,
one loan per case and a contact history with Polars and loads them with COPY, activates a strategy of
eight rules with a challenger and a hold-out (approved by a second manager), then times:
  * the whole strategy step (`services.strategy_apply`) for day 1, and for day 2, when every case is
    matched against its previous treatment: read, decide, delete the day's rows, COPY them in;
  * the columnar decision alone on the full frame;
  * the per-case reference evaluator (`rules.decide`, one case at a time) on a random sample of the
    same frame, and checks that it agrees with the columnar decision on every sampled case.
`ratio` is the columnar decision rate over the per-case rate, measured in this same run.
The database is dropped at the end (pass --keep to keep it). The last line holds name=value pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DAY = dt.date(2026, 11, 30)

RULES = [
    ("Protected", "is_deceased or has_dispute or do_not_visit", [("letter", 0, 0, "letter_formal", 4)]),
    ("Vulnerable", "is_vulnerable", [("call", 0, 7, "call_early", 3)]),
    (
        "Early small",
        "bucket = M1 and overdue_amount < 2000",
        [("sms", 0, 0, "sms_reminder", 5), ("call", 5, 0, "call_early", 4)],
    ),
    ("Early", "bucket = M1", [("sms", 0, 0, "sms_reminder", 4), ("call", 2, 5, "call_early", 3)]),
    (
        "M2 promise broken",
        "bucket = M2 and last_contact_outcome in (promise_broken, refused)",
        [("visit", 0, 10, "visit_followup", 1)],
    ),
    (
        "M2 large",
        "bucket = M2 and overdue_amount >= 5000",
        [("call", 0, 0, "call_m2", 2), ("visit", 3, 14, "visit_first", 1)],
    ),
    ("M2", "bucket = M2", [("call", 0, 4, "call_m2", 3)]),
    (
        "Late",
        "bucket in (M3, M4+) and not product = MORTGAGE",
        [("visit", 0, 14, "visit_first", 1), ("legal", 60, 0, "legal_review", 2)],
    ),
    ("Rest", "always", [("letter", 0, 30, "letter_formal", 4)]),
]


def maintenance_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise SystemExit("this benchmark needs PostgreSQL: --database postgres://…/doorstep_bench_strategy")
    if not name or name in {"postgres", "template0", "template1"}:
        raise SystemExit("give the benchmark a database of its own, e.g. …/doorstep_bench_strategy")
    return urlunparse(parsed._replace(path="/postgres")), name


def recreate(url: str, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    maintenance, name = maintenance_url(url)
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def with_defaults(model, frame):  # type: ignore[no-untyped-def]
    """Columns the generator does not set get the model's default, so new fields do not break the load."""
    import polars as pl
    from django.db.models import NOT_PROVIDED

    extra = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in frame.columns:
            continue
        if field.null:
            continue
        if field.default is NOT_PROVIDED:
            raise SystemExit(f"{model.__name__}.{field.name} has no default: the benchmark must set it")
        value = field.default() if callable(field.default) else field.default
        if isinstance(value, dict | list):
            import json

            value = json.dumps(value)
        elif isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
        elif hasattr(value, "quantize"):
            value = str(value)
        extra.append(pl.lit(value).alias(field.column))
    return frame.with_columns(extra) if extra else frame


def generate(cases: int, seed: int) -> dict[str, float]:
    import numpy as np
    import polars as pl
    from django.db import connection, transaction

    from doorstep.compliance.models import ContactEvent
    from doorstep.core.bulk import bulk_insert
    from doorstep.portfolio.demo_data import fen_text
    from doorstep.portfolio.models import Borrower, Case, Loan

    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    ids = np.arange(1, cases + 1, dtype=np.int64)
    now = "2026-11-30 01:00:00+00:00"
    branches = np.array(["CD001", "CD002", "CD003", "BJ001", "SH001", "GZ001"])
    days = np.minimum(rng.geometric(1 / 45, cases), 720).astype(np.int64)
    bucket = np.where(days <= 30, "M1", np.where(days <= 60, "M2", np.where(days <= 90, "M3", "M4+")))
    overdue_principal = rng.integers(10_000, 3_000_000, cases)
    interest = overdue_principal // 20
    penalty = overdue_principal // 100
    outstanding = overdue_principal + rng.integers(0, 10_000_000, cases)
    flags = rng.random((cases, 4))
    borrowers = pl.DataFrame(
        {
            "id": ids,
            "customer_id": pl.Series(ids).cast(pl.String).str.zfill(10),
            "name": pl.repeat("借款人", cases, eager=True),
            "national_id_encrypted": pl.repeat("bench", cases, eager=True),
            "national_id_hash": pl.Series(ids).cast(pl.String),
            "national_id_masked": pl.repeat("5101**********1234", cases, eager=True),
            "phone_encrypted": pl.repeat("bench", cases, eager=True),
            "phone_hash": pl.Series(ids).cast(pl.String),
            "phone_masked": pl.repeat("138****0000", cases, eager=True),
            "address": pl.repeat("四川省成都市", cases, eager=True),
            "latitude": pl.Series((30.5 + rng.random(cases) * 0.3).round(6)).cast(pl.String),
            "longitude": pl.Series((103.9 + rng.random(cases) * 0.3).round(6)).cast(pl.String),
            "time_zone": pl.repeat("", cases, eager=True),
            "employer": pl.repeat("", cases, eager=True),
            "is_vulnerable": flags[:, 0] < 0.02,
            "is_deceased": flags[:, 1] < 0.002,
            "has_dispute": flags[:, 2] < 0.01,
            "do_not_visit": flags[:, 3] < 0.01,
            "created_at": pl.repeat(now, cases, eager=True),
            "updated_at": pl.repeat(now, cases, eager=True),
        }
    )
    total = overdue_principal + interest + penalty
    case_frame = pl.DataFrame(
        {
            "id": ids,
            "borrower_id": ids,
            "status": rng.choice(np.array(["open", "open", "open", "arrangement", "legal"]), cases),
            "snapshot_date": pl.Series([DAY], dtype=pl.Date).repeat_by(cases).explode(),
            "branch_code": rng.choice(branches, cases),
            "days_past_due": days,
            "bucket": bucket,
            "outstanding_principal": fen_text(outstanding),
            "overdue_principal": fen_text(overdue_principal),
            "overdue_interest": fen_text(interest),
            "penalty_interest": fen_text(penalty),
            "overdue_total": fen_text(total),
            "entry_overdue_total": fen_text(total),
            "next_action": pl.repeat("", cases, eager=True),
            "created_at": pl.repeat(now, cases, eager=True),
            "updated_at": pl.repeat(now, cases, eager=True),
        }
    )
    case_frame = case_frame.with_columns(
        (pl.col("snapshot_date") - pl.duration(days=pl.col("days_past_due"))).alias("opened_on")
    )
    loans = pl.DataFrame(
        {
            "id": ids,
            "loan_id": "L" + pl.Series(ids).cast(pl.String).str.zfill(12),
            "borrower_id": ids,
            "case_id": ids,
            "branch_code": case_frame["branch_code"],
            "product_code": rng.choice(np.array(["CONSUMER", "CONSUMER", "CARD", "AUTO", "MORTGAGE"]), cases),
            "currency": pl.repeat("CNY", cases, eager=True),
            "principal": fen_text(outstanding + 100_000),
            "outstanding_principal": fen_text(outstanding),
            "overdue_principal": fen_text(overdue_principal),
            "overdue_interest": fen_text(interest),
            "penalty_interest": fen_text(penalty),
            "first_unpaid_due_date": case_frame["opened_on"],
            "days_past_due": days,
            "bucket": bucket,
            "classification": np.where(days <= 90, "special_mention", "substandard"),
            "is_overdue": np.ones(cases, dtype=bool),
            "snapshot_date": case_frame["snapshot_date"],
            "updated_at": pl.repeat(now, cases, eager=True),
        }
    )
    contacts = cases // 3
    contact_cases = rng.choice(ids, contacts)
    events = pl.DataFrame(
        {
            "id": np.arange(1, contacts + 1, dtype=np.int64),
            "case_id": contact_cases,
            "borrower_id": contact_cases,
            "channel": rng.choice(np.array(["call", "sms", "visit"]), contacts),
            "direction": pl.repeat("outbound", contacts, eager=True),
            "target": pl.repeat("debtor", contacts, eager=True),
            "target_relation": pl.repeat("", contacts, eager=True),
            "contact_point_hash": pl.repeat("", contacts, eager=True),
            "started_at": pl.repeat("2026-11-20 03:00:00+00:00", contacts, eager=True),
            "actor_label": pl.repeat("bench", contacts, eager=True),
            "outcome_code": rng.choice(
                np.array(["promise", "promise_broken", "refused", "no_answer"]), contacts
            ),
            "verdict": pl.repeat("allowed", contacts, eager=True),
            "rules_fired": pl.repeat("[]", contacts, eager=True),
            "rule_set_version": pl.repeat("", contacts, eager=True),
            "override_reason": pl.repeat("", contacts, eager=True),
            "created_at": pl.repeat(now, contacts, eager=True),
        }
    )
    generated = time.perf_counter() - started
    started = time.perf_counter()
    with transaction.atomic():
        for model, frame in (
            (Borrower, borrowers),
            (Case, case_frame),
            (Loan, loans),
            (ContactEvent, events),
        ):
            bulk_insert(table=model._meta.db_table, frame=with_defaults(model, frame))
        with connection.cursor() as cursor:
            for model in (Borrower, Case, Loan, ContactEvent):
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"generate_seconds": generated, "load_seconds": time.perf_counter() - started}


def activate_strategy() -> object:
    from django.contrib.auth.models import Group, User

    from doorstep.strategy import services

    managers = []
    for name in ("bench-manager", "bench-approver"):
        user = User.objects.create_user(name, password=None)
        user.groups.add(Group.objects.get(name="manager"))
        managers.append(User.objects.get(pk=user.pk))
    author, approver = managers

    def steps(items):  # type: ignore[no-untyped-def]
        return [{"channel": c, "day": d, "every": e, "script": s, "priority": p} for c, d, e, s, p in items]

    challenger = services.strategy_create(actor=author, code="calls-first", name="Calls first")
    for name, condition, path in [*RULES[:4], ("Calls", "always", [("call", 0, 3, "call_m2", 2)])]:
        services.rule_save(
            actor=author, version_id=challenger.pk, name=name, condition=condition, steps=steps(path)
        )
    champion = services.strategy_create(actor=author, code="standard", name="Standard")
    for name, condition, path in RULES:
        services.rule_save(
            actor=author, version_id=champion.pk, name=name, condition=condition, steps=steps(path)
        )
    services.experiment_save(
        actor=author,
        version_id=champion.pk,
        test_id="calls-first-2026q4",
        holdout_share=500,
        challengers=[
            {"key": "calls", "name": "Calls first", "share": 2000, "source_version_id": challenger.pk}
        ],
    )
    services.version_submit(actor=author, version_id=champion.pk, note="bench")
    return services.version_approve(actor=approver, version_id=champion.pk)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="cases for the per-case evaluator")
    parser.add_argument("--database", required=True)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--keep", action="store_true")
    arguments = parser.parse_args()

    recreate(arguments.database)
    os.environ["DATABASE_URL"] = arguments.database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
    import tempfile

    frames = tempfile.mkdtemp(prefix="doorstep-bench-strategy-")
    import django
    from django.conf import settings

    django.setup()
    settings.DOORSTEP_STRATEGY_FRAMES_DIR = Path(frames)
    from django.core.management import call_command

    try:
        call_command("migrate", verbosity=0)
        figures = generate(arguments.cases, arguments.seed)
        print(f"loaded {arguments.cases:,} cases in {figures['load_seconds']:.1f}s", flush=True)
        import polars as pl

        from doorstep.strategy import attributes, services
        from doorstep.strategy import rules as r

        version = activate_strategy()
        definition = services.definition_of(version)  # type: ignore[arg-type]

        started = time.perf_counter()
        day1 = services.strategy_apply(actor="system:bench", business_date=DAY)
        step1 = time.perf_counter() - started
        started = time.perf_counter()
        day2 = services.strategy_apply(actor="system:bench", business_date=DAY + dt.timedelta(days=1))
        step2 = time.perf_counter() - started
        print(f"day 1: {day1}", flush=True)
        print(f"day 2: {day2}", flush=True)

        frame = attributes.case_frame(DAY)
        started = time.perf_counter()
        columnar = r.decide_frame(definition, frame)
        columnar_seconds = time.perf_counter() - started

        sample = frame.sample(n=min(arguments.sample, frame.height), seed=arguments.seed)
        rows = sample.to_dicts()
        started = time.perf_counter()
        reference = [r.decide(definition, row) for row in rows]
        per_case_seconds = time.perf_counter() - started
        expected = {row["case_id"]: (d.arm, d.position) for row, d in zip(rows, reference, strict=True)}
        got = columnar.filter(pl.col("case_id").is_in(list(expected))).select("case_id", "arm", "position")
        mismatches = sum(1 for row in got.iter_rows() if expected[row[0]] != (row[1], row[2]))

        columnar_rate = frame.height / columnar_seconds
        per_case_rate = len(rows) / per_case_seconds
        step_rate = day2["cases"] / step2
        print(
            f"cases={day2['cases']} step_seconds={step2:.2f} step_day1_seconds={step1:.2f} "
            f"step_cases_per_s={step_rate:.0f} read_s={day2['read_seconds']} decide_s={day2['decide_seconds']} "
            f"delete_s={day2['delete_seconds']} write_s={day2['write_seconds']} columnar_cases_per_s={columnar_rate:.0f} "
            f"per_case_cases_per_s={per_case_rate:.0f} ratio={columnar_rate / per_case_rate:.1f} "
            f"step_vs_per_case={step_rate / per_case_rate:.1f} sample={len(rows)} mismatches={mismatches}"
        )
    finally:
        from django.db import connections

        connections.close_all()
        import shutil

        shutil.rmtree(frames, ignore_errors=True)
        if not arguments.keep:
            recreate(arguments.database, drop_only=True)


if __name__ == "__main__":
    main()
