"""Reading the raw tables as of a day, and building a month's facts from them in bulk.

The loaders read only what was recorded by the end of the as-of day (in the bank's time zone), so a
month's facts built today for a past day are what they would have been on that day. The arithmetic is
`metrics.case_month_facts`; this module moves frames in and out of the database (`core.bulk`).
"""
# SQL here is assembled from model metadata and dates this module computes; nothing typed by a user.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import polars as pl
from django.apps import apps
from django.conf import settings
from django.db import connections, models, transaction

from doorstep.collectors.models import CaseAssignment
from doorstep.compliance.models import ContactEvent
from doorstep.core import bulk
from doorstep.core.audit import Actor, actor_fields
from doorstep.portfolio.models import BucketMove, Case, CaseStatusChange, Loan
from doorstep.reports import metrics
from doorstep.reports.models import CaseMonthFact, CollectorMonth, EntryCube, FactBuild, MonthCube
from doorstep.strategy.models import CaseTreatment, Strategy, StrategyVersion
from doorstep.visits.models import Visit, VisitStatus

DEFAULT_UNIT_COSTS = {"visit": Decimal("60.00"), "call": Decimal("3.00"), "sms": Decimal("0.05"), "letter": Decimal("8.00")}


def unit_costs() -> dict[str, Decimal]:
    """Unit costs per visit, call, SMS and letter in yuan (setting DOORSTEP_REPORT_UNIT_COSTS)."""
    configured = getattr(settings, "DOORSTEP_REPORT_UNIT_COSTS", {}) or {}
    return {key: Decimal(str(configured.get(key, value))) for key, value in DEFAULT_UNIT_COSTS.items()}


def bucket_codes() -> list[str]:
    return [code for code, _first, _last in settings.DOORSTEP_BUCKETS]


def _table(model: type[models.Model]) -> str:
    return model._meta.db_table


def _fen(column: str) -> str:
    return f"CAST(ROUND({column} * 100) AS BIGINT)"


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_end_utc(day: dt.date) -> dt.datetime:
    """The first instant after `day` in the bank's time zone, in UTC."""
    following = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=_zone())
    return following.astimezone(dt.UTC)


def day_start_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=_zone()).astimezone(dt.UTC)


def _instant(value: dt.datetime, using: str) -> str:
    """A UTC instant as the database compares it: PostgreSQL with its offset, SQLite as naive UTC text."""
    if connections[using].vendor == "postgresql":
        return f"'{value:%Y-%m-%d %H:%M:%S}+00:00'"
    return f"'{value:%Y-%m-%d %H:%M:%S}'"


def _local_date(column: str) -> pl.Expr:
    """UTC timestamp text (either database's) → the date in the bank's time zone."""
    return (
        pl.col(column)
        .str.slice(0, 19)
        .str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False)
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(settings.TIME_ZONE)
        .dt.date()
    )


@dataclass(frozen=True)
class Sources:
    """The raw frames one month's facts are computed from."""

    cases: pl.DataFrame
    status_changes: pl.DataFrame
    bucket_moves: pl.DataFrame
    assignments: pl.DataFrame
    treatments: pl.DataFrame
    contacts: pl.DataFrame
    visits: pl.DataFrame
    payments: pl.DataFrame | None
    promises: pl.DataFrame | None
    complaints: pl.DataFrame | None
    messages: pl.DataFrame | None


def load_sources(*, month: dt.date, as_of: dt.date, using: str = "default") -> Sources:
    last = min(as_of, metrics.month_end(month))
    first_utc, end_utc = _instant(day_start_utc(month), using), _instant(day_end_utc(last), using)
    before = (month - dt.timedelta(days=1)).isoformat()
    case, loan = _table(Case), _table(Loan)
    cases = bulk.read_frame(
        f"SELECT c.id, c.opened_on, c.branch_code, COALESCE(p.product_code, ''), {_fen('c.entry_overdue_total')} "
        f"FROM {case} c LEFT JOIN (SELECT case_id, MIN(product_code) AS product_code FROM {loan} "
        f"WHERE case_id IS NOT NULL GROUP BY case_id) p ON p.case_id = c.id "
        f"WHERE c.opened_on <= '{last.isoformat()}' AND (c.closed_on IS NULL OR c.closed_on >= '{before}')",
        {"case_id": pl.Int64, "opened_on": pl.Date, "branch_code": pl.String, "product_code": pl.String,
         "entry_overdue_fen": pl.Int64},
        using=using,
    )
    status_changes = bulk.read_frame(
        f"SELECT case_id, business_date, id, to_status FROM {_table(CaseStatusChange)} "
        f"WHERE business_date <= '{last.isoformat()}' AND at < {end_utc}",
        {"case_id": pl.Int64, "business_date": pl.Date, "seq": pl.Int64, "to_status": pl.String},
        using=using,
    )
    bucket_moves = bulk.read_frame(
        f"SELECT case_id, loan_id, snapshot_date, id, to_bucket FROM {_table(BucketMove)} "
        f"WHERE snapshot_date <= '{last.isoformat()}' AND case_id IS NOT NULL",
        {"case_id": pl.Int64, "loan_id": pl.Int64, "snapshot_date": pl.Date, "seq": pl.Int64, "to_bucket": pl.String},
        using=using,
    )
    assignments = (
        bulk.read_frame(
            f"SELECT case_id, team_id, COALESCE(collector_id, 0), CAST(assigned_at AS TEXT) FROM {_table(CaseAssignment)} "
            f"WHERE assigned_at < {end_utc} AND (ended_at IS NULL OR ended_at >= {end_utc})",
            {"case_id": pl.Int64, "team_id": pl.Int64, "collector_id": pl.Int64, "assigned_at": pl.String},
            using=using,
        )
        .sort("assigned_at")
        .group_by("case_id")
        .agg(pl.col("team_id").last(), pl.col("collector_id").last())
        .with_columns(pl.when(pl.col("collector_id") > 0).then(pl.col("collector_id")).alias("collector_id"))
    )
    treatment, version, strategy = _table(CaseTreatment), _table(StrategyVersion), _table(Strategy)
    treatments = bulk.read_frame(
        f"SELECT t.case_id, s.name || ' v' || v.number, t.arm FROM {treatment} t "
        f"JOIN {version} v ON v.id = t.version_id JOIN {strategy} s ON s.id = v.strategy_id "
        f"WHERE t.business_date = (SELECT MAX(business_date) FROM {treatment} "
        f"WHERE business_date <= '{last.isoformat()}')",
        {"case_id": pl.Int64, "strategy": pl.String, "arm": pl.String},
        using=using,
    )
    contacts = bulk.read_frame(
        f"SELECT case_id, CAST(started_at AS TEXT), CAST(created_at AS TEXT), channel, verdict, CASE WHEN right_party THEN 1 ELSE 0 END "
        f"FROM {_table(ContactEvent)} WHERE started_at >= {first_utc} AND started_at < {end_utc} "
        f"AND created_at < {end_utc}",
        {"case_id": pl.Int64, "on": pl.String, "recorded_on": pl.String, "channel": pl.String,
         "verdict": pl.String, "right_party": pl.Int8},
        using=using,
    ).with_columns(_local_date("on"), _local_date("recorded_on"), pl.col("right_party").cast(pl.Boolean))
    visits = bulk.read_frame(
        f"SELECT case_id, COALESCE(CAST(notice_sent_at AS TEXT), ''), "
        f"CASE WHEN status = '{VisitStatus.COMPLETED.value}' AND checked_out_at < {end_utc} "
        f"THEN CAST(checked_out_at AS TEXT) ELSE '' END, CASE WHEN person_met = 'borrower' THEN 1 ELSE 0 END "
        f"FROM {_table(Visit)} WHERE (notice_sent_at >= {first_utc} AND notice_sent_at < {end_utc}) "
        f"OR (checked_out_at >= {first_utc} AND checked_out_at < {end_utc})",
        {"case_id": pl.Int64, "notice_on": pl.String, "done_on": pl.String, "met": pl.Int8},
        using=using,
    ).with_columns(
        pl.when(pl.col("notice_on") != "").then(_local_date("notice_on")).alias("notice_on"),
        pl.when(pl.col("done_on").is_not_null() & (pl.col("done_on") != "")).then(_local_date("done_on"))
        .alias("done_on"),
        pl.col("met").cast(pl.Boolean),
    )
    return Sources(
        cases=cases,
        status_changes=status_changes,
        bucket_moves=bucket_moves,
        assignments=assignments,
        treatments=treatments,
        contacts=contacts,
        visits=visits,
        payments=_payments(month=month, last=last, using=using),
        promises=_promises(month=month, last=last, using=using),
        complaints=_complaints(month=month, last=last, using=using),
        messages=_messages(month=month, last=last, using=using),
    )


# Payments, promises, complaints and messages live in apps that a deployment may leave out; each loader
# reads its app's table when the app is installed, and the facts count nothing from it otherwise.


def _model(label: str, name: str) -> type[models.Model] | None:
    try:
        return apps.get_model(label, name)
    except LookupError:
        return None


def _payments(*, month: dt.date, last: dt.date, using: str) -> pl.DataFrame | None:
    """Payments and reversals (negative) by the day they were paid, known once their file was imported."""
    payment, payment_import = _model("payments", "Payment"), _model("payments", "PaymentImport")
    if payment is None or payment_import is None:
        return None
    start, end = _instant(day_start_utc(month), using), _instant(day_end_utc(last), using)
    return bulk.read_frame(
        f"SELECT p.case_id, CAST(p.paid_at AS TEXT), CAST(i.finished_at AS TEXT), {_fen('p.amount')} "
        f"FROM {_table(payment)} p JOIN {_table(payment_import)} i ON i.id = p.payment_import_id "
        f"WHERE p.case_id IS NOT NULL AND p.paid_at >= {start} AND p.paid_at < {end} AND i.finished_at < {end}",
        {"case_id": pl.Int64, "paid_on": pl.String, "recorded_on": pl.String, "amount_fen": pl.Int64},
        using=using,
    ).with_columns(_local_date("paid_on"), _local_date("recorded_on"))


def _promises(*, month: dt.date, last: dt.date, using: str) -> pl.DataFrame | None:
    """Promises made or falling due in the month; kept when arrangements decided so by the day.
    Promises cancelled by the day are no longer due."""
    promise = _model("arrangements", "PromiseToPay")
    if promise is None:
        return None
    end = _instant(day_end_utc(last), using)
    frame = bulk.read_frame(
        f"SELECT case_id, CAST(created_at AS TEXT), due_on, status, decided_on FROM {_table(promise)} "
        f"WHERE created_at < {end} AND (due_on >= '{month.isoformat()}' "
        f"OR created_at >= {_instant(day_start_utc(month), using)})",
        {"case_id": pl.Int64, "made_on": pl.String, "due_on": pl.Date, "status": pl.String, "decided_on": pl.Date},
        using=using,
    ).with_columns(_local_date("made_on"))
    decided = pl.col("decided_on").is_not_null() & (pl.col("decided_on") <= last)
    return frame.filter(~((pl.col("status") == "cancelled") & decided)).select(
        "case_id",
        "made_on",
        "due_on",
        pl.when((pl.col("status") == "kept") & decided).then(pl.col("decided_on")).alias("kept_on"),
        pl.col("made_on").alias("recorded_on"),
    )


def _complaints(*, month: dt.date, last: dt.date, using: str) -> pl.DataFrame | None:
    """Complaints received in the month, about a case directly or about a visit to it."""
    complaint = _model("feedback", "Complaint")
    if complaint is None:
        return None
    start, end = _instant(day_start_utc(month), using), _instant(day_end_utc(last), using)
    return bulk.read_frame(
        f"SELECT COALESCE(c.case_id, v.case_id), CAST(c.received_at AS TEXT) FROM {_table(complaint)} c "
        f"LEFT JOIN {_table(Visit)} v ON v.id = c.visit_id "
        f"WHERE COALESCE(c.case_id, v.case_id) IS NOT NULL AND c.received_at >= {start} AND c.received_at < {end}",
        {"case_id": pl.Int64, "filed_on": pl.String},
        using=using,
    ).with_columns(_local_date("filed_on"))


def _messages(*, month: dt.date, last: dt.date, using: str) -> pl.DataFrame | None:
    """SMS and letters sent about a case in the month: what they cost, whatever their purpose."""
    message = _model("notify", "Message")
    if message is None:
        return None
    start, end = _instant(day_start_utc(month), using), _instant(day_end_utc(last), using)
    return bulk.read_frame(
        f"SELECT case_id, CAST(sent_at AS TEXT), channel FROM {_table(message)} "
        f"WHERE case_id IS NOT NULL AND status = 'sent' AND channel IN ('sms', 'letter') "
        f"AND sent_at >= {start} AND sent_at < {end}",
        {"case_id": pl.Int64, "sent_on": pl.String, "channel": pl.String},
        using=using,
    ).with_columns(_local_date("sent_on"))


def month_facts_frame(*, month: dt.date, as_of: dt.date, using: str = "default") -> pl.DataFrame:
    """The case-month facts of `month` as known at the end of `as_of`, computed from the raw tables."""
    sources = load_sources(month=month, as_of=as_of, using=using)
    return metrics.case_month_facts(
        month=month,
        as_of=as_of,
        cases=sources.cases,
        status_changes=sources.status_changes,
        bucket_moves=sources.bucket_moves,
        buckets=bucket_codes(),
        assignments=sources.assignments,
        treatments=sources.treatments,
        contacts=sources.contacts,
        visits=sources.visits,
        payments=sources.payments,
        promises=sources.promises,
        complaints=sources.complaints,
        messages=sources.messages,
    )


def _fen_text(expr: pl.Expr) -> pl.Expr:
    magnitude = expr.abs()
    return pl.concat_str(
        pl.when(expr < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (magnitude // 100).cast(pl.String),
        pl.lit("."),
        (magnitude % 100).cast(pl.String).str.zfill(2),
    )


SUMMED = list(metrics.COUNT_COLUMNS)


def _cube_sql(*, month: dt.date) -> list[str]:
    fact, cube, entry, collector = _table(CaseMonthFact), _table(MonthCube), _table(EntryCube), _table(CollectorMonth)
    counts = ", ".join(SUMMED)
    sums = ", ".join(f"SUM({column})" for column in SUMMED)
    where = f"WHERE month = '{month.isoformat()}'"
    dims = "month, branch_code, team_id, product_code, strategy, arm"
    return [
        f"INSERT INTO {cube} ({dims}, bucket_start, bucket_end, cases, entry_overdue, noticed_cases, visited_cases, "
        f"promised_cases, paid_cases, {counts}, collected) "
        f"SELECT {dims}, bucket_start, bucket_end, COUNT(*), SUM(entry_overdue), "
        f"SUM(CASE WHEN notices > 0 THEN 1 ELSE 0 END), SUM(CASE WHEN visits > 0 THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN promises_made > 0 THEN 1 ELSE 0 END), SUM(CASE WHEN collected > 0 THEN 1 ELSE 0 END), "
        f"{sums}, SUM(collected) FROM {fact} {where} GROUP BY {dims}, bucket_start, bucket_end",
        f"INSERT INTO {entry} ({dims}, entry_month, cases, entry_overdue, collected) "
        f"SELECT {dims}, entry_month, COUNT(*), SUM(entry_overdue), SUM(collected) FROM {fact} {where} "
        f"GROUP BY {dims}, entry_month",
        f"INSERT INTO {collector} (month, collector_id, team_id, branch_code, cases, {counts}, collected) "
        f"SELECT month, collector_id, MIN(team_id), MIN(branch_code), COUNT(*), {sums}, SUM(collected) "
        f"FROM {fact} {where} AND collector_id IS NOT NULL GROUP BY month, collector_id",
    ]


def facts_build(*, actor: Actor, month: dt.date, as_of: dt.date, using: str = "default") -> FactBuild:
    """Replace `month`'s facts and summaries with those known at the end of `as_of`, in one transaction."""
    month = metrics.month_start(month)
    as_of = min(as_of, metrics.month_end(month))
    started = time.perf_counter()
    frame = month_facts_frame(month=month, as_of=as_of, using=using)
    rows = frame.select(
        "month",
        "case_id",
        pl.lit(as_of).alias("as_of"),
        "branch_code",
        "team_id",
        "collector_id",
        "product_code",
        "strategy",
        "arm",
        "bucket_start",
        "bucket_end",
        "status_end",
        "entry_month",
        _fen_text(pl.col("entry_overdue_fen")).alias("entry_overdue"),
        *SUMMED,
        _fen_text(pl.col("collected_fen")).alias("collected"),
    )
    with transaction.atomic(using=using):
        for model in (CaseMonthFact, MonthCube, EntryCube, CollectorMonth):
            bulk.execute(f"DELETE FROM {_table(model)} WHERE month = '{month.isoformat()}'", using=using)
        bulk.bulk_insert(table=_table(CaseMonthFact), frame=rows, using=using)
        for statement in _cube_sql(month=month):
            bulk.execute(statement, using=using)
        if connections[using].vendor == "postgresql":
            for model in (MonthCube, EntryCube, CollectorMonth):
                bulk.execute(f"ANALYZE {_table(model)}", using=using)
        build = FactBuild.objects.using(using).create(
            month=month,
            as_of=as_of,
            cases=rows.height,
            seconds=time.perf_counter() - started,
            built_by_label=actor_fields(actor)["actor_label"],
        )
    return build


def latest_as_of(month: dt.date) -> dt.date | None:
    build = FactBuild.objects.filter(month=month).order_by("-built_at", "-id").first()
    return build.as_of if build else None


def months_built() -> list[dt.date]:
    return sorted(set(FactBuild.objects.values_list("month", flat=True)), reverse=True)
