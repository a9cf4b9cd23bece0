"""Doorstep's own tables in the shapes of ``features``: the live portfolio, its events, its matured outcomes.

Bulk reads through ``core.bulk.read_frame`` (COPY on PostgreSQL), never per-row ORM. Promises and
payments come from the arrangements and payments apps when they are installed and have their tables;
without them those events are empty and the features that depend on them are zero.
"""
# SQL here is built from constants, ISO dates and integers only.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt

import polars as pl
from django.apps import apps
from django.db import connection

from doorstep.core.bulk import read_frame
from doorstep.portfolio.models import ACTIVE_CASE_STATUSES
from doorstep.scoring.features import ROLL_WINDOW_DAYS, Events, empty_events

EVENT_DAYS = max(ROLL_WINDOW_DAYS, 365)


def _statuses() -> str:
    return ", ".join(f"'{status.value}'" for status in ACTIVE_CASE_STATUSES)


def live_cases(as_of: dt.date) -> pl.DataFrame:
    """Every active case with its facts today, in ``feature_panel``'s case shape."""
    cases = read_frame(
        "SELECT c.id, c.days_past_due, c.bucket, CAST(ROUND(c.overdue_total * 100) AS BIGINT), "
        "CAST(ROUND(c.outstanding_principal * 100) AS BIGINT), c.opened_on "
        f"FROM portfolio_case c WHERE c.status IN ({_statuses()})",
        {
            "case_id": pl.Int64,
            "days_past_due": pl.Int64,
            "bucket": pl.String,
            "overdue_total": pl.Int64,
            "outstanding_principal": pl.Int64,
            "opened_on": pl.Date,
        },
    )
    products = read_frame(
        "SELECT l.case_id, l.product_code, CAST(ROUND(l.overdue_principal * 100) AS BIGINT) "
        f"FROM portfolio_loan l JOIN portfolio_case c ON c.id = l.case_id WHERE c.status IN ({_statuses()})",
        {"case_id": pl.Int64, "product": pl.String, "overdue": pl.Int64},
    )
    products = (
        products.sort(["case_id", "overdue", "product"], descending=[False, True, False])
        .unique(subset="case_id", keep="first", maintain_order=True)
        .select("case_id", "product")
    )
    return cases.join(products, on="case_id", how="left").with_columns(
        pl.lit(as_of).alias("as_of"), pl.lit(None, dtype=pl.Float64).alias("borrower_age")
    )


def _table_exists(name: str) -> bool:
    return name in connection.introspection.table_names()


def _model(app_label: str, model_name: str):  # type: ignore[no-untyped-def]
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return None
    return model if _table_exists(model._meta.db_table) else None


def _field(model, *candidates: str) -> str | None:  # type: ignore[no-untyped-def]
    names = {field.name: field.column for field in model._meta.concrete_fields}
    for candidate in candidates:
        if candidate in names:
            return names[candidate]
    return None


def _date_text(column: str) -> str:
    return f"CAST({column} AS TEXT)"


def live_events(as_of: dt.date, *, days: int = EVENT_DAYS) -> Events:
    """The events of the ``days`` before ``as_of`` (``feature_panel`` keeps only those before each as-of)."""
    since = (as_of - dt.timedelta(days=days)).isoformat()
    until = (as_of + dt.timedelta(days=1)).isoformat()
    empty = empty_events()
    moves = read_frame(
        "SELECT case_id, snapshot_date, from_bucket, to_bucket FROM portfolio_bucketmove "
        f"WHERE case_id IS NOT NULL AND snapshot_date >= '{since}' AND snapshot_date < '{until}'",
        {"case_id": pl.Int64, "snapshot_date": pl.Date, "from_bucket": pl.String, "to_bucket": pl.String},
    )
    contacts = read_frame(
        f"SELECT case_id, {_date_text('started_at')}, channel, "
        "CASE WHEN right_party THEN 1 WHEN right_party IS NULL THEN -1 ELSE 0 END, outcome_code "
        f"FROM compliance_contactevent WHERE verdict <> 'refused' AND started_at >= '{since}' "
        f"AND started_at < '{until}'",
        {"case_id": pl.Int64, "at": pl.Date, "channel": pl.String, "right_party": pl.Int8, "outcome_code": pl.String},
    ).with_columns(pl.when(pl.col("right_party") >= 0).then(pl.col("right_party").cast(pl.Boolean)).alias("right_party"))
    visits = read_frame(
        f"SELECT case_id, {_date_text('checked_in_at')}, attitude, willingness, delinquency_reason, result "
        f"FROM visits_visit WHERE status = 'completed' AND checked_in_at IS NOT NULL "
        f"AND checked_in_at >= '{since}' AND checked_in_at < '{until}'",
        {
            "case_id": pl.Int64,
            "at": pl.Date,
            "attitude": pl.String,
            "willingness": pl.String,
            "delinquency_reason": pl.String,
            "result": pl.String,
        },
    ) if _table_exists("visits_visit") else empty.visits
    return Events(
        bucket_moves=moves,
        contacts=contacts,
        visits=visits,
        promises=_promises(since, until) if _promise_model() is not None else empty.promises,
        payments=_payments(since, until) if _payment_model() is not None else empty.payments,
    )


def _promise_model():  # type: ignore[no-untyped-def]
    model = _model("arrangements", "PromiseToPay")
    if model is None or not all(
        (_field(model, "case"), _field(model, "due_on", "due_date"), _field(model, "created_at", "made_at", "made_on"))
    ):
        return None
    return model


def _payment_model():  # type: ignore[no-untyped-def]
    model = _model("payments", "Payment")
    if model is None or not all(
        (_field(model, "case"), _field(model, "amount"), _field(model, "paid_on", "value_date", "paid_at", "booked_on", "received_at"))
    ):
        return None
    return model


def _promises(since: str, until: str) -> pl.DataFrame:
    model = _promise_model()
    table = model._meta.db_table
    case, due = _field(model, "case"), _field(model, "due_on", "due_date")
    made = _field(model, "created_at", "made_at", "made_on")
    kept = _field(model, "kept_on", "kept_at", "fulfilled_on", "settled_on")
    kept_sql = _date_text(kept) if kept else "NULL"
    frame = read_frame(
        f"SELECT {case}, {_date_text(made)}, {_date_text(due)}, COALESCE({kept_sql}, '') FROM {table} "
        f"WHERE {case} IS NOT NULL AND {due} >= '{since}' AND {due} < '{until}'",
        {"case_id": pl.Int64, "made_on": pl.Date, "due_on": pl.Date, "kept_on": pl.String},
    )
    return frame.with_columns(
        pl.when(pl.col("kept_on") != "").then(pl.col("kept_on").str.slice(0, 10).str.to_date("%Y-%m-%d")).alias("kept_on")
    )


def _payments(since: str, until: str) -> pl.DataFrame:
    model = _payment_model()
    table = model._meta.db_table
    case, amount = _field(model, "case"), _field(model, "amount")
    paid = _field(model, "paid_on", "value_date", "paid_at", "booked_on", "received_at")
    return read_frame(
        f"SELECT {case}, {_date_text(paid)}, CAST(ROUND({amount} * 100) AS BIGINT) FROM {table} "
        f"WHERE {case} IS NOT NULL AND {paid} >= '{since}' AND {paid} < '{until}'",
        {"case_id": pl.Int64, "paid_on": pl.Date, "amount": pl.Int64},
    )


def live_outcomes(case_ids: pl.Series, start: dt.date, days: int = 30) -> pl.DataFrame:
    """``case_id`` and ``paid_30d``: whether each case was paid or cured in the ``days`` from ``start``."""
    until = (start + dt.timedelta(days=days)).isoformat()
    since = start.isoformat()
    cured = read_frame(
        "SELECT DISTINCT case_id FROM portfolio_casestatuschange "
        f"WHERE to_status IN ('cured', 'closed') AND business_date >= '{since}' AND business_date < '{until}'",
        {"case_id": pl.Int64},
    )
    to_current = read_frame(
        "SELECT DISTINCT case_id FROM portfolio_bucketmove "
        f"WHERE case_id IS NOT NULL AND to_bucket = '' AND snapshot_date > '{since}' AND snapshot_date <= '{until}'",
        {"case_id": pl.Int64},
    )
    frames = [cured, to_current]
    if _payment_model() is not None:
        frames.append(_payments(since, until).select("case_id").unique())
    paid = pl.concat(frames).unique().with_columns(pl.lit(1, dtype=pl.Int8).alias("paid_30d"))
    return (
        case_ids.cast(pl.Int64).alias("case_id").to_frame()
        .join(paid, on="case_id", how="left")
        .with_columns(pl.col("paid_30d").fill_null(0))
    )


def live_history(today: dt.date, *, days: int = 365) -> pl.DataFrame:
    """Training rows from Doorstep's own history: each bucket move of a case as an as-of date with its facts
    then, and whether the case paid or cured in the 30 days after (only rows whose 30 days are over)."""
    since = (today - dt.timedelta(days=days)).isoformat()
    last = (today - dt.timedelta(days=30)).isoformat()
    rows = read_frame(
        "SELECT m.case_id, m.snapshot_date, m.days_past_due, m.to_bucket, CAST(ROUND(m.overdue_amount * 100) AS BIGINT), "
        "CAST(ROUND(c.outstanding_principal * 100) AS BIGINT), c.opened_on "
        "FROM portfolio_bucketmove m JOIN portfolio_case c ON c.id = m.case_id "
        f"WHERE m.to_bucket <> '' AND m.snapshot_date >= '{since}' AND m.snapshot_date <= '{last}'",
        {
            "case_id": pl.Int64,
            "as_of": pl.Date,
            "days_past_due": pl.Int64,
            "bucket": pl.String,
            "overdue_total": pl.Int64,
            "outstanding_principal": pl.Int64,
            "opened_on": pl.Date,
        },
    )
    products = read_frame(
        "SELECT case_id, product_code FROM portfolio_loan WHERE case_id IS NOT NULL", {"case_id": pl.Int64, "product": pl.String}
    ).unique(subset="case_id", keep="first")
    rows = rows.join(products, on="case_id", how="left").with_columns(pl.lit(None, dtype=pl.Float64).alias("borrower_age"))
    outcomes = []
    for as_of in rows["as_of"].unique().sort().to_list():
        ids = rows.filter(pl.col("as_of") == as_of)["case_id"]
        outcomes.append(live_outcomes(ids, as_of).with_columns(pl.lit(as_of).alias("as_of")))
    if not outcomes:
        return rows.with_columns(pl.lit(0, dtype=pl.Int8).alias("paid_30d"))
    return rows.join(pl.concat(outcomes), on=["case_id", "as_of"], how="left")
