"""Batch scoring of the daily run over a large portfolio on PostgreSQL, against per-case scoring.

    .venv/bin/python bench/scoring_batch.py --cases 1000000 \
        --database postgres://postgres@127.0.0.1:5432/doorstep_bench_scoring_batch

It creates the named database (dropping it first), runs the migrations, loads borrowers, cases, loans and
a contact history with the strategy benchmark's generator (COPY), trains the scorecard, LightGBM and
uplift models on the simulated history (trainer: one user) and approves them (a second user), then times:
  * the daily scoring step (`services.scores_refresh`): read cases and events, build the features,
    score with the champion scorecard, reason codes in two languages, uplift, PSI monitoring, replace the
    stored scores with COPY;
  * per-case scoring (features of one case, probability, reason codes, uplift, one at a time) on a random
    sample of the same panel, to give the rate a per-row loop would reach.
The goal is 1,000,000 cases within 30 s. The database is dropped at the end (pass --keep to keep it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.strategy import DAY, generate, recreate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2_000, help="cases for per-case scoring")
    parser.add_argument("--database", required=True)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--keep", action="store_true")
    arguments = parser.parse_args()

    recreate(arguments.database)
    os.environ["DATABASE_URL"] = arguments.database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
    os.environ["DOORSTEP_VAR_DIR"] = tempfile.mkdtemp(prefix="doorstep-bench-scoring-")
    import django

    django.setup()
    from django.core.management import call_command

    try:
        call_command("migrate", verbosity=0)
        figures = generate(arguments.cases, arguments.seed)
        print(f"loaded {arguments.cases:,} cases in {figures['load_seconds']:.1f}s", flush=True)
        from doorstep.core.roles import Role
        from doorstep.scoring import features as F
        from doorstep.scoring import services, sources
        from tests.factories import make_user

        trainer = make_user("bench-trainer", Role.MANAGER)
        approver = make_user("bench-approver", Role.ADMIN)
        started = time.perf_counter()
        created = services.models_train(actor=trainer, accounts=3000)
        print(f"trained {[m.label for m in created]} in {time.perf_counter() - started:.1f}s", flush=True)
        for model in created:
            services.model_approve(actor=approver, model_id=model.pk)

        started = time.perf_counter()
        summary = services.scores_refresh(actor="system:bench", business_date=DAY)
        batch_seconds = time.perf_counter() - started
        print(f"daily scoring step: {summary}", flush=True)
        started = time.perf_counter()
        again = services.scores_refresh(actor="system:bench", business_date=DAY + dt.timedelta(days=1))
        second_seconds = time.perf_counter() - started
        print(f"second day: {again}", flush=True)

        import polars as pl

        cases = sources.live_cases(DAY)
        events = sources.live_events(DAY)
        sample_ids = cases["case_id"].sample(min(arguments.sample, cases.height), seed=1)
        sample_cases = cases.filter(pl.col("case_id").is_in(sample_ids.implode()))
        model = services.model_load(services.champion("scorecard"))  # type: ignore[arg-type]
        uplift = services.model_load(services.champion("uplift"))  # type: ignore[arg-type]
        started = time.perf_counter()
        for row in range(sample_cases.height):
            one = sample_cases.slice(row, 1)
            case_id = one["case_id"][0]
            own = F.Events(*(frame.filter(pl.col("case_id") == case_id) for frame in (
                events.bucket_moves, events.contacts, events.visits, events.promises, events.payments)))
            panel = F.feature_panel(one, own)
            services.scores_compute(panel, model, uplift)
        per_case_seconds = time.perf_counter() - started
        per_case_rate = sample_cases.height / per_case_seconds
        batch_rate = summary["cases"] / batch_seconds
        print(
            f"cases={summary['cases']} batch_seconds={batch_seconds:.1f} second_day_seconds={second_seconds:.1f} "
            f"batch_rate={batch_rate:,.0f}/s per_case_rate={per_case_rate:,.0f}/s ratio={batch_rate / per_case_rate:,.0f} "
            f"per_case_projected_seconds={summary['cases'] / per_case_rate:,.0f} goal_seconds=30",
            flush=True,
        )
    finally:
        if not arguments.keep:
            from django.db import connections

            connections.close_all()
            recreate(arguments.database, drop_only=True)


if __name__ == "__main__":
    main()
