"""How quickly the dashboards answer at bank scale, on PostgreSQL, with the facts built by the daily step.

    .venv/bin/python bench/reports.py --cases 1000000 --events 20000000 \
        --database postgres://postgres@127.0.0.1:5432/doorstep_bench_reports

It creates the named database (dropping it first), migrates, and generates in SQL 50 teams with a team
lead each, 1,000 collectors, a manager, and as many borrowers, cases and loans as asked, opened over the
twelve months to 2026-11; each loan's bucket history (about 40 % cure within a month, 30 % after
reaching M2, 20 % stay in M4+, 10 % are written off), the cases' status history and assignments, one
strategy run with a champion and a hold-out arm, a field visit with coordinates and outcome for every
other case, and `--events` contact-ledger rows (calls, SMS, visits, letters; some refused) spread over
the twelve months.

Then it builds the facts of each month (`facts_build`, what the daily step runs) and times it, and
requests each dashboard page through Django's test client as a browser would, reporting the median of
`--repeat` requests. The baseline, measured in the same run, is the same month's figures computed from
the raw tables without the facts (`month_facts_frame` + the metrics): `vs_raw` says how many dashboard
pages fit in one raw computation. `--reuse` keeps the data already generated; `--keep` keeps the
database at the end. The last line holds name=value pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.case_list import maintenance_url, recreate  # noqa: E402

LAST_DAY = dt.date(2026, 11, 27)

# The generated rows reference each other by construction; checking every foreign key row by row at
# commit would cost more than generating them, so the generation runs with the checks off.
SEED = """
set session_replication_role = replica;
insert into auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
select '!', false, 'bench-collector-' || g, '催收' || g, '', '', false, true, now() from generate_series(1, 1000) g;
insert into auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
select '!', false, 'bench-lead-' || g, '组长' || g, '', '', false, true, now() from generate_series(1, 50) g;
insert into auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
values ('!', false, 'bench-manager', '经理', '', '', false, true, now()),
       ('!', false, 'bench-compliance', '合规', '', '', false, true, now());
insert into auth_user_groups (user_id, group_id)
select id, (select id from auth_group where name = 'collector') from auth_user where username like 'bench-collector-%';
insert into auth_user_groups (user_id, group_id)
select id, (select id from auth_group where name = 'supervisor') from auth_user where username like 'bench-lead-%';
insert into auth_user_groups (user_id, group_id)
select id, (select id from auth_group where name = 'manager') from auth_user where username = 'bench-manager';
insert into auth_user_groups (user_id, group_id)
select id, (select id from auth_group where name = 'compliance') from auth_user where username = 'bench-compliance';
insert into collectors_team (name, branch_code, supervisor_id {c:collectors.Team})
select '组' || g, 'BR' || lpad((g % 10)::text, 3, '0'), (select id from auth_user where username = 'bench-lead-' || g)
       {v:collectors.Team}
from generate_series(1, 50) g;
insert into collectors_collector
    (badge_number, visits_per_day, work_days, shift_start, shift_end, is_experienced, is_active, user_id, team_id
     {c:collectors.Collector})
select 'B' || lpad(u.rn::text, 5, '0'), 8, '12345', '09:00', '18:00', false, true, u.id,
       (select min(id) from collectors_team) + (u.rn % 50) {v:collectors.Collector}
from (select id, row_number() over (order by id) rn from auth_user where username like 'bench-collector-%') u;
insert into portfolio_borrower
    (customer_id, name, national_id_encrypted, national_id_hash, national_id_masked, phone_encrypted, phone_hash,
     phone_masked, address, latitude, longitude, time_zone, employer, is_vulnerable, is_deceased, has_dispute,
     do_not_visit, created_at, updated_at {c:portfolio.Borrower})
select 'C' || lpad(g::text, 9, '0'), '借款人' || g, 'x', md5(g::text), '510104********' || lpad((g % 10000)::text, 4, '0'),
       'x', md5('p' || g), '138****' || lpad((g % 10000)::text, 4, '0'), '四川省成都市',
       30.55 + (g % 997) * 0.0003, 103.95 + (g % 991) * 0.0003, '', '', false, false, false, false, now(), now()
       {v:portfolio.Borrower}
from generate_series(1, {cases}) g;
-- path: 0-3 cured after 20 days, 4-6 M2 then cured at 45, 7-8 stay until M4+, 9 M4+ then written off at 200
create temporary table bench_case as
select b.id as borrower_id, date '2025-12-01' + (b.id % 362)::int as opened_on, b.id % 10 as path,
       'BR' || lpad((b.id % 10)::text, 3, '0') as branch_code,
       (array['CARD', 'CONSUMER', 'AUTO', 'MICRO'])[1 + b.id % 4] as product_code
from portfolio_borrower b;
alter table bench_case add column cured_on date, add column written_off_on date;
update bench_case set cured_on = opened_on + 20 where path <= 3;
update bench_case set cured_on = opened_on + 45 where path between 4 and 6;
update bench_case set written_off_on = opened_on + 200 where path = 9;
update bench_case set cured_on = null where cured_on > date '{last}';
update bench_case set written_off_on = null where written_off_on > date '{last}';
insert into portfolio_case
    (status, opened_on, closed_on, snapshot_date, branch_code, days_past_due, bucket, outstanding_principal,
     overdue_principal, overdue_interest, penalty_interest, overdue_total, entry_overdue_total, next_action,
     created_at, updated_at, borrower_id {c:portfolio.Case})
select case when cured_on is not null then 'cured' when written_off_on is not null then 'written_off' else 'open' end,
       opened_on, coalesce(cured_on, written_off_on), date '{last}', branch_code, 1, 'M1', 20000,
       1000 + (borrower_id % 5000), 100.25, 10.50, 1000 + (borrower_id % 5000) + 110.75,
       1000 + (borrower_id % 5000) + 110.75, '', now(), now(), borrower_id {v:portfolio.Case}
from bench_case order by borrower_id;
insert into portfolio_loan
    (loan_id, branch_code, product_code, currency, principal, outstanding_principal, overdue_principal,
     overdue_interest, penalty_interest, first_unpaid_due_date, days_past_due, bucket, classification,
     is_overdue, snapshot_date, updated_at, borrower_id, case_id {c:portfolio.Loan})
select 'L' || lpad(c.id::text, 10, '0'), c.branch_code, b.product_code, 'CNY', 30000, 20000, c.overdue_principal,
       100.25, 10.50, c.opened_on, c.days_past_due, c.bucket, 'special_mention', true, c.snapshot_date, now(),
       c.borrower_id, c.id {v:portfolio.Loan}
from portfolio_case c join bench_case b on b.borrower_id = c.borrower_id;
insert into portfolio_bucketmove (snapshot_date, from_bucket, to_bucket, days_past_due, overdue_amount, case_id, loan_id)
select m.on_date, m.from_bucket, m.to_bucket, m.dpd, 1000, l.case_id, l.id
from portfolio_loan l join bench_case b on b.borrower_id = l.borrower_id
cross join lateral (values
    (b.opened_on, '', 'M1', 1, true),
    (b.opened_on + 30, 'M1', 'M2', 31, b.path >= 4),
    (b.opened_on + 60, 'M2', 'M3', 61, b.path >= 7),
    (b.opened_on + 90, 'M3', 'M4+', 91, b.path >= 7),
    (b.cured_on, case when b.path <= 3 then 'M1' else 'M2' end, '', 0, b.cured_on is not null)
) as m(on_date, from_bucket, to_bucket, dpd, happens)
where m.happens and m.on_date <= date '{last}';
insert into portfolio_casestatuschange (case_id, from_status, to_status, at, business_date, actor_label, reason)
select c.id, '', 'open', c.opened_on + time '06:00', c.opened_on, 'bench', '' from portfolio_case c;
insert into portfolio_casestatuschange (case_id, from_status, to_status, at, business_date, actor_label, reason)
select c.id, 'open', c.status, c.closed_on + time '06:00', c.closed_on, 'bench', ''
from portfolio_case c where c.closed_on is not null;
insert into collectors_caseassignment (assigned_at, reason, case_id, collector_id, team_id {c:collectors.CaseAssignment})
select c.opened_on + time '07:00', 'bench', c.id, col.id, col.team_id {v:collectors.CaseAssignment}
from portfolio_case c join collectors_collector col on col.id = (select min(id) from collectors_collector) + c.id % 1000;
insert into strategy_strategy (code, name, description, created_at) values ('bench', '标准策略', '', now());
insert into strategy_strategyversion (number, status, definition, note, created_at, strategy_id)
select 1, 'active', '{{}}', '', now(), id from strategy_strategy where code = 'bench';
insert into strategy_casetreatment (business_date, case_id, version_id, arm, rule_key, started_on, next_channel
    {c:strategy.CaseTreatment})
select date '{last}', c.id, (select id from strategy_strategyversion limit 1),
       case when c.id % 10 = 0 then 'holdout' else 'champion' end, 'r1', c.opened_on, 'call' {v:strategy.CaseTreatment}
from portfolio_case c where c.status = 'open';
insert into visits_visit
    (case_id, borrower_id, status, purpose, script_code, window_start, window_end, service_minutes, collector_id,
     created_at, created_by_label, response, response_channel, response_by_label, response_note, cancel_reason,
     check_in_far, confirmations, person_met, attitude, willingness, delinquency_reason, result, notes, next_action,
     latitude, longitude, notice_sent_at, checked_in_at, checked_out_at {c:visits.Visit})
select c.id, c.borrower_id, 'completed', 'bench', '', v.at, v.at + interval '1 hour', 30,
       a.collector_id, v.at, 'bench', 'confirmed', '', '', '', '', false, '{{}}',
       case when c.id % 3 = 0 then 'nobody' else 'borrower' end, '', '', '',
       (array['paid', 'promise', 'refused', 'not_home', 'promise', 'plan_requested'])[1 + c.id % 6], '', '',
       b.latitude, b.longitude, v.at - interval '2 days', v.at, v.at + interval '30 minutes' {v:visits.Visit}
from portfolio_case c join portfolio_borrower b on b.id = c.borrower_id
join collectors_caseassignment a on a.case_id = c.id
cross join lateral (select (c.opened_on + 10 + time '02:00')::timestamptz as at) v
where c.id % 2 = 0 and c.opened_on + 10 <= date '{last}';
"""


# The ledger, in chunks of EVENT_CHUNK rows (one statement each), so that progress shows and no single
# statement holds millions of rows in memory.
EVENTS = """
set session_replication_role = replica;
insert into compliance_contactevent
    (case_id, borrower_id, channel, direction, target, target_relation, contact_point_hash, started_at,
     actor_label, outcome_code, verdict, rules_fired, rule_set_version, override_reason, created_at, purpose,
     place, with_consent, near_miss, connected, right_party {c:compliance.ContactEvent})
select e.case_id, e.case_id, (array['call', 'call', 'call', 'sms', 'sms', 'visit', 'call', 'letter', 'call', 'call'])[1 + g % 10],
       'outbound', 'debtor', '', '', e.at, 'bench', '', case when g % 23 = 0 then 'refused' else 'allowed' end,
       '[]', 'CN-v1', '', e.at, 'collect', 'home', false, false, g % 2 = 0, g % 3 = 0 {v:compliance.ContactEvent}
from generate_series({first}, {last_event}) g
cross join lateral (select (1 + (g::bigint * 7919) % {cases})::int as case_id) k
cross join lateral (
    select k.case_id, ((date '2025-12-01' + (g % 362)::int) + time '03:00')::timestamptz as at
) e;
"""
EVENT_CHUNK = 2_000_000
# Tables whose secondary indexes and keys are built once at the end instead of row by row.
BIG_TABLES = (
    "portfolio_borrower", "portfolio_case", "portfolio_loan", "portfolio_bucketmove", "portfolio_casestatuschange",
    "collectors_caseassignment", "strategy_casetreatment", "visits_visit", "compliance_contactevent",
)


PLACEHOLDER = re.compile(r"\{([cv]):(\w+)\.(\w+)\}")
INSERT = re.compile(r"insert into (\w+)\s*\(([^)]*)\{c:", re.IGNORECASE)


def with_later_columns(seed: str) -> str:
    """Fill the columns other apps have added to these tables since the benchmark was written with their
    defaults: `{c:app.Model}` in an insert's column list, `{v:app.Model}` at the end of its select list."""
    from django.apps import apps

    known: dict[str, set[str]] = {}
    for match in INSERT.finditer(seed):
        known[match.group(1)] = {name.strip() for name in match.group(2).replace("\n", " ").split(",")}

    def replace(match: re.Match[str]) -> str:
        model = apps.get_model(match.group(2), match.group(3))
        names = known.get(model._meta.db_table, set())
        parts = []
        for field in model._meta.concrete_fields:
            if field.null or field.primary_key or field.column in names:
                continue
            if match.group(1) == "c":
                parts.append(field.column)
                continue
            default = field.get_default()
            if isinstance(default, bool):
                parts.append("true" if default else "false")
            elif isinstance(default, (dict, list)):
                parts.append("'" + json.dumps(default).replace("'", "''") + "'")
            elif default is None:
                parts.append("''")
            elif hasattr(default, "isoformat"):
                parts.append(f"'{default.isoformat()}'")
            else:
                parts.append("'" + str(default).replace("'", "''") + "'")
        return "".join(f", {part}" for part in parts)

    return PLACEHOLDER.sub(replace, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
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
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client

    from doorstep.core import bulk
    from doorstep.portfolio.models import Case
    from doorstep.reports import facts, metrics
    from doorstep.reports.models import FactBuild

    results: dict[str, object] = {}
    if not options.reuse or not Case.objects.exists():
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        def fill(text: str) -> str:
            return (
                with_later_columns(text)
                .replace("{cases}", str(int(options.cases)))
                .replace("{last}", LAST_DAY.isoformat())
                .replace("{{}}", "{}")
            )

        with transaction.atomic(), connection.cursor() as cursor, bulk.checks_deferred_for_bulk_load(BIG_TABLES):
            cursor.execute(fill(SEED))
            print(f"generated {options.cases:,} cases in {time.perf_counter() - started:.0f} s", flush=True)
            for first in range(1, options.events + 1, EVENT_CHUNK):
                last_event = min(first + EVENT_CHUNK - 1, options.events)
                cursor.execute(fill(EVENTS).replace("{first}", str(first)).replace("{last_event}", str(last_event)))
                print(f"  ledger events {last_event:,} at {time.perf_counter() - started:.0f} s", flush=True)
            cursor.execute("reset session_replication_role")
            print(f"  rebuilding indexes and keys at {time.perf_counter() - started:.0f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("analyze")
        seconds = time.perf_counter() - started
        results["generate_s"] = round(seconds)
        print(f"generated {options.cases:,} cases and {options.events:,} ledger events in {seconds:.0f} s", flush=True)

    months = []
    month = metrics.month_start(dt.date(2025, 12, 1))
    while month <= LAST_DAY:
        months.append(month)
        month = metrics.month_start(metrics.month_end(month) + dt.timedelta(days=1))
    if options.reuse and FactBuild.objects.filter(month=months[-1]).exists():
        print("facts already built", flush=True)
    else:
        build_times = []
        for month in months:
            as_of = min(metrics.month_end(month), LAST_DAY)
            build = facts.facts_build(actor="system:bench", month=month, as_of=as_of)
            build_times.append(build.seconds)
            print(f"facts {month:%Y-%m}: {build.cases:,} case months in {build.seconds:.1f} s", flush=True)
        results["facts_month_max_s"] = round(max(build_times), 1)
        results["facts_month_median_s"] = round(statistics.median(build_times), 1)

    def median_ms(run) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(options.repeat):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    last_month = months[-1]
    buckets = facts.bucket_codes()

    def raw_figures() -> None:
        frame = facts.month_facts_frame(month=last_month, as_of=LAST_DAY)
        metrics.kpis(frame, buckets, facts.unit_costs())
        metrics.roll_rate_matrix(frame, buckets)
        metrics.funnel(frame)

    started = time.perf_counter()
    raw_figures()
    baseline = (time.perf_counter() - started) * 1000
    results["raw_month_figures_ms"] = round(baseline)
    print(f"baseline: one month's figures from the raw tables: {baseline:.0f} ms", flush=True)

    manager = User.objects.get(username="bench-manager")
    lead = User.objects.get(username="bench-lead-7")
    collector = User.objects.get(username="bench-collector-7")
    auditor = User.objects.get(username="bench-compliance")
    month_param = f"{last_month:%Y-%m}"
    scenarios = [
        # The page frame alone (menu, session, permissions, no figures): what every page costs here.
        ("manager_glossary_page_frame", manager, "/reports/glossary/", {}),
        ("manager_dashboard", manager, "/reports/", {"month": month_param}),
        ("manager_by_team", manager, "/reports/", {"month": month_param, "slice": "team_id"}),
        ("manager_branch_product", manager, "/reports/",
         {"month": month_param, "branch": "BR003", "product": "CARD", "slice": "arm"}),
        ("manager_one_collector", manager, "/reports/", {"month": month_param, "collector": str(collector.collector.pk)}),
        ("manager_drill_m1_to_m2", manager, "/reports/cases/", {"month": month_param, "start": "M1", "end": "M2"}),
        ("manager_export_productivity_xlsx", manager, "/reports/export/productivity.xlsx", {"month": month_param}),
        ("lead_team_dashboard", lead, "/reports/", {"month": month_param}),
        ("collector_own_dashboard", collector, "/reports/", {"month": month_param}),
        ("compliance_dashboard", auditor, "/reports/compliance/", {"month": month_param}),
        ("manager_monthly_archive", manager, "/reports/monthly/", {}),
    ]
    print(f"{'page':36s} {'median ms':>10s} {'vs_raw':>8s}")
    for name, user, path, params in scenarios:
        client = Client()
        client.force_login(user)

        def request(client: Client = client, path: str = path, params: dict = params, name: str = name) -> None:  # type: ignore[type-arg]
            response = client.get(path, params)
            if response.status_code != 200:
                raise SystemExit(f"{name}: HTTP {response.status_code}")

        request()
        elapsed = median_ms(request)
        results[f"{name}_ms"] = round(elapsed, 1)
        print(f"{name:36s} {elapsed:10.0f} {baseline / elapsed:8.1f}", flush=True)
    results["cases"] = Case.objects.count()
    if not options.keep:
        connection.close()
        recreate(options.database, drop_only=True)
    print(" ".join(f"{key}={value}" for key, value in results.items()))


if __name__ == "__main__":
    main()
