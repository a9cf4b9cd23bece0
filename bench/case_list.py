"""How quickly the staff case list answers on a large portfolio, on PostgreSQL.

    .venv/bin/python bench/case_list.py --cases 1000000 \
        --database postgres://postgres@127.0.0.1:5432/doorstep_bench_case_list

It creates the named database (dropping it first), runs the migrations and generates, in SQL, 20 teams,
200 collectors, a manager, and as many borrowers, cases (about one in ten cured), loans and current
assignments as asked. Then it requests the case list through Django's test client, as a browser would
(full page: bucket summary, one page of 50 rows, filter choices), for a set of typical filters, and
reports the median of a few requests each. The baseline, measured in the same run, is
`SELECT count(*)` over every case: `vs_count` says how many full counts one page costs.
`--reuse` skips the generation when the database already holds the data. The database is dropped at
the end unless `--keep` is given. The last line holds name=value pairs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = """
insert into auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
select '!', false, 'bench-collector-' || g, '催收' || g, '', '', false, true, now() from generate_series(1, 200) g;
insert into auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
values ('!', false, 'bench-manager', '经理', '', '', false, true, now());
insert into auth_user_groups (user_id, group_id)
select id, (select id from auth_group where name = 'collector') from auth_user where username like 'bench-collector-%';
insert into auth_user_groups (user_id, group_id)
select id, (select id from auth_group where name = 'manager') from auth_user where username = 'bench-manager';
insert into collectors_team (name, branch_code, supervisor_id)
select '组' || g, 'BR' || lpad((g % 10)::text, 3, '0'), null from generate_series(1, 20) g;
insert into collectors_collector
    (badge_number, visits_per_day, work_days, shift_start, shift_end, is_experienced, is_active, user_id, team_id)
select 'B' || lpad(u.rn::text, 5, '0'), 8, '12345', '09:00', '18:00', false, true, u.id,
       (select min(id) from collectors_team) + (u.rn % 20)
from (select id, row_number() over (order by id) rn from auth_user where username like 'bench-collector-%') u;
insert into portfolio_borrower
    (customer_id, name, national_id_encrypted, national_id_hash, national_id_masked, phone_encrypted, phone_hash,
     phone_masked, address, time_zone, employer, is_vulnerable, is_deceased, has_dispute, do_not_visit,
     created_at, updated_at)
select 'C' || lpad(g::text, 9, '0'),
       (array['张','王','李','赵','刘','陈','杨','黄','周','吴'])[1 + g % 10]
         || (array['伟','芳','娜','敏','静','强','磊','洋','勇','艳','杰','军'])[1 + (g / 10) % 12] || (g % 997)::text,
       'x', md5(g::text), '510104********' || lpad((g % 10000)::text, 4, '0'), 'x', md5('p' || g),
       '138****' || lpad((g % 10000)::text, 4, '0'), '四川省成都市', '', '', false, false, false, false, now(), now()
from generate_series(1, {cases}) g;
insert into portfolio_case
    (status, opened_on, snapshot_date, branch_code, days_past_due, bucket, outstanding_principal,
     overdue_principal, overdue_interest, penalty_interest, overdue_total, entry_overdue_total, next_action,
     created_at, updated_at, borrower_id)
select case when b.id % 10 = 0 then 'cured' else 'open' end, date '2026-11-27' - (1 + b.id % 400)::int,
       date '2026-11-27', 'BR' || lpad((b.id % 10)::text, 3, '0'), 1 + b.id % 400,
       case when 1 + b.id % 400 <= 30 then 'M1' when 1 + b.id % 400 <= 60 then 'M2'
            when 1 + b.id % 400 <= 90 then 'M3' else 'M4+' end,
       20000, 1000 + (b.id % 5000), 100.25, 10.50, 1000 + (b.id % 5000) + 110.75, 1000, '', now(), now(), b.id
from portfolio_borrower b;
insert into portfolio_loan
    (loan_id, branch_code, product_code, currency, principal, outstanding_principal, overdue_principal,
     overdue_interest, penalty_interest, first_unpaid_due_date, days_past_due, bucket, classification,
     is_overdue, snapshot_date, updated_at, borrower_id, case_id)
select 'L' || lpad(c.id::text, 10, '0'), c.branch_code, 'CONSUMER', 'CNY', 30000, 20000, c.overdue_principal,
       100.25, 10.50, c.opened_on, c.days_past_due, c.bucket, 'special_mention', true, c.snapshot_date, now(),
       c.borrower_id, c.id
from portfolio_case c;
insert into collectors_caseassignment (assigned_at, reason, case_id, collector_id, team_id)
select now(), 'bench', c.id, col.id, col.team_id
from portfolio_case c join collectors_collector col on col.id = (select min(id) from collectors_collector) + c.id % 200;
analyze;
"""


def maintenance_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise SystemExit("this benchmark needs PostgreSQL: --database postgres://…/doorstep_bench_case_list")
    if not name or name in {"postgres", "template0", "template1"}:
        raise SystemExit("give the benchmark a database of its own, e.g. …/doorstep_bench_case_list")
    return urlunparse(parsed._replace(path="/postgres")), name


def recreate(url: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    maintenance, name = maintenance_url(url)
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--database", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep the data already in the database")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    options = parser.parse_args()
    maintenance_url(options.database)

    os.environ["DATABASE_URL"] = options.database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doorstep.settings")
    if not options.reuse:
        recreate(options.database)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from doorstep.collectors.models import Collector
    from doorstep.portfolio.models import Case

    if not options.reuse or not Case.objects.exists():
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute(SEED.replace("{cases}", str(int(options.cases))))
        print(f"generated {options.cases:,} cases in {time.perf_counter() - started:.0f} s", flush=True)

    from django.contrib.auth.models import User

    manager = User.objects.get(username="bench-manager")
    collector_user = User.objects.get(username="bench-collector-7")
    collector = Collector.objects.get(user=collector_user)
    total = Case.objects.count()

    def median_ms(run) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(options.repeat):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    def count_all() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM portfolio_case")
            cursor.fetchone()

    baseline = median_ms(count_all)
    scenarios = [
        ("manager_all", manager, {}),
        ("manager_bucket_m2", manager, {"bucket": "M2"}),
        ("manager_m4_branch_open", manager, {"bucket": "M4+", "branch": "BR003", "status": "open"}),
        ("manager_dpd_100_120_by_amount", manager, {"dpd_min": 100, "dpd_max": 120, "sort": "-overdue"}),
        ("manager_one_collector", manager, {"collector": collector.pk}),
        ("manager_page_500", manager, {"page": 500}),
        ("manager_customer_number", manager, {"query": "C000123456"}),
        ("manager_loan_number", manager, {"query": "L0000654321"}),
        ("manager_name", manager, {"query": "王芳"}),
        ("manager_sort_by_name", manager, {"sort": "name"}),
        ("collector_own", collector_user, {}),
        ("collector_own_m1", collector_user, {"bucket": "M1"}),
    ]
    results = {"cases": total, "count_ms": round(baseline, 1)}
    print(f"{'scenario':34s} {'median ms':>10s} {'vs_count':>9s}")
    for name, user, params in scenarios:
        client = Client()
        client.force_login(user)

        def request(client: Client = client, params: dict = params, name: str = name) -> None:  # type: ignore[type-arg]
            response = client.get("/cases/", params)
            if response.status_code != 200:
                raise SystemExit(f"{name}: HTTP {response.status_code}")

        request()  # warm: templates compiled, session loaded, the database's caches primed
        elapsed = median_ms(request)
        results[f"{name}_ms"] = round(elapsed, 1)
        print(f"{name:34s} {elapsed:10.0f} {elapsed / baseline:9.1f}", flush=True)
    if not options.keep:
        connection.close()
        recreate(options.database, drop_only=True)
    print(" ".join(f"{key}={value}" for key, value in results.items()))


if __name__ == "__main__":
    main()
