"""The model features of a case as of a date, from the tables Doorstep records (or the simulation's copy).

One function, ``feature_panel``, turns case rows (``case_id``, ``as_of`` and the case's facts on that
date) and the event tables into the same columns for the simulated history, for training over the live
history and for scoring the live portfolio. Only events dated strictly before ``as_of`` count, so a
payment, a contact or a broken promise after that date changes nothing (no leakage of the outcome).

Event tables (Polars frames; money in integer fen):

* ``bucket_moves``: case_id, snapshot_date, from_bucket, to_bucket
* ``contacts``: case_id, at (date), channel, right_party (bool or null), outcome_code
* ``visits``: case_id, at (date), attitude, willingness, delinquency_reason, result
* ``promises``: case_id, made_on, due_on, kept_on (date or null)
* ``payments``: case_id, paid_on, amount
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import polars as pl

WINDOW_DAYS = 90
ROLL_WINDOW_DAYS = 180

PRODUCT_CODES = {"XFD": 1, "XYK_FQ": 2, "JYD": 3}
BUCKET_RANK = {"": 0, "M1": 1, "M2": 2, "M3": 3, "M4+": 4}
ATTITUDE_LEVEL = {"hostile": 0, "evasive": 1, "neutral": 2, "cooperative": 3}
WILLINGNESS_LEVEL = {"none": 0, "low": 1, "partial": 2, "high": 3}
REASON_CODES = {
    "income_loss": 1,
    "illness": 2,
    "business": 3,
    "overindebted": 4,
    "family": 5,
    "forgot": 6,
    "dispute": 7,
    "fraud": 8,
    "unwilling": 9,
    "other": 10,
}
REFUSAL_OUTCOMES = ("refused", "refused_to_pay")

FEATURES: tuple[str, ...] = (
    "days_past_due",
    "bucket_level",
    "overdue_total",
    "outstanding_principal",
    "overdue_share",
    "product",
    "months_on_book",
    "bucket_rolls_6m",
    "payments_90d",
    "paid_share_90d",
    "days_since_last_payment",
    "contacts_90d",
    "right_party_contact_rate",
    "refusals_90d",
    "promises_kept_90d",
    "promises_broken_90d",
    "visits_90d",
    "last_visit_willingness",
    "last_visit_attitude",
    "last_visit_reason",
    "borrower_age",
)
CATEGORICAL = ("product", "last_visit_reason")
# Recorded, shown in the validation report, never used to decide how a borrower is treated.
EXCLUDED = {
    "borrower_age": "Age is a protected attribute: not used to decide how a borrower is treated.",
}
# The features whose stability monitoring watches against training.
MONITORED = (
    "days_past_due",
    "overdue_total",
    "paid_share_90d",
    "right_party_contact_rate",
    "promises_broken_90d",
    "visits_90d",
)


@dataclass(frozen=True)
class Events:
    bucket_moves: pl.DataFrame
    contacts: pl.DataFrame
    visits: pl.DataFrame
    promises: pl.DataFrame
    payments: pl.DataFrame


def empty_events() -> Events:
    return Events(
        bucket_moves=pl.DataFrame(
            schema={"case_id": pl.Int64, "snapshot_date": pl.Date, "from_bucket": pl.String, "to_bucket": pl.String}
        ),
        contacts=pl.DataFrame(
            schema={
                "case_id": pl.Int64,
                "at": pl.Date,
                "channel": pl.String,
                "right_party": pl.Boolean,
                "outcome_code": pl.String,
            }
        ),
        visits=pl.DataFrame(
            schema={
                "case_id": pl.Int64,
                "at": pl.Date,
                "attitude": pl.String,
                "willingness": pl.String,
                "delinquency_reason": pl.String,
                "result": pl.String,
            }
        ),
        promises=pl.DataFrame(
            schema={"case_id": pl.Int64, "made_on": pl.Date, "due_on": pl.Date, "kept_on": pl.Date}
        ),
        payments=pl.DataFrame(schema={"case_id": pl.Int64, "paid_on": pl.Date, "amount": pl.Int64}),
    )


def _within(frame: pl.DataFrame, keys: pl.DataFrame, column: str, days: int) -> pl.DataFrame:
    """Events of each (case, as_of) dated in the ``days`` before ``as_of`` (never on or after it)."""
    return frame.join(keys, on="case_id", how="inner").filter(
        (pl.col(column) < pl.col("as_of")) & (pl.col(column) >= pl.col("as_of") - pl.duration(days=days))
    )


def feature_panel(cases: pl.DataFrame, events: Events) -> pl.DataFrame:
    """``case_id``, ``as_of`` and every feature of ``FEATURES`` (floats; unknown as null), one row per case row.

    ``cases`` needs case_id, as_of, days_past_due, bucket, overdue_total and outstanding_principal (fen),
    product, opened_on, borrower_age (may be null).
    """
    keys = cases.select(pl.col("case_id").cast(pl.Int64), pl.col("as_of").cast(pl.Date)).unique()
    on = ["case_id", "as_of"]

    moves = _within(events.bucket_moves.with_columns(pl.col("case_id").cast(pl.Int64)), keys, "snapshot_date", ROLL_WINDOW_DAYS)
    rolls = moves.group_by(on).agg(
        bucket_rolls_6m=(
            pl.col("to_bucket").replace_strict(BUCKET_RANK, default=4, return_dtype=pl.Int8)
            > pl.col("from_bucket").replace_strict(BUCKET_RANK, default=0, return_dtype=pl.Int8)
        ).sum()
    )

    payments_all = events.payments.with_columns(pl.col("case_id").cast(pl.Int64))
    paid = _within(payments_all, keys, "paid_on", WINDOW_DAYS).group_by(on).agg(
        payments_90d=pl.len(), paid_90d=pl.col("amount").sum()
    )
    last_paid = _within(payments_all, keys, "paid_on", 365).group_by(on).agg(last_paid_on=pl.col("paid_on").max())

    contacts = _within(events.contacts.with_columns(pl.col("case_id").cast(pl.Int64)), keys, "at", WINDOW_DAYS)
    contact_features = contacts.group_by(on).agg(
        contacts_90d=pl.len(),
        right_party_90d=pl.col("right_party").fill_null(False).sum(),
        refusals_90d=pl.col("outcome_code").is_in(REFUSAL_OUTCOMES).sum(),
    )

    visits = _within(events.visits.with_columns(pl.col("case_id").cast(pl.Int64)), keys, "at", WINDOW_DAYS)
    visit_count = visits.group_by(on).agg(visits_90d=pl.len())
    # The last visit at which someone answered the collector's questions.
    last_visit = (
        visits.filter(pl.col("willingness") != "")
        .sort("at")
        .group_by(on)
        .agg(
            last_visit_willingness=pl.col("willingness").last().replace_strict(WILLINGNESS_LEVEL, default=None, return_dtype=pl.Float64),
            last_visit_attitude=pl.col("attitude").last().replace_strict(ATTITUDE_LEVEL, default=None, return_dtype=pl.Float64),
            last_visit_reason=pl.col("delinquency_reason").last().replace_strict(REASON_CODES, default=None, return_dtype=pl.Float64),
        )
    )

    promises = _within(events.promises.with_columns(pl.col("case_id").cast(pl.Int64)), keys, "due_on", WINDOW_DAYS)
    # Kept: paid by the due date, and the payment was already known on `as_of`.
    kept = pl.col("kept_on").is_not_null() & (pl.col("kept_on") <= pl.col("due_on")) & (pl.col("kept_on") < pl.col("as_of"))
    promise_features = promises.group_by(on).agg(promises_kept_90d=kept.sum(), promises_broken_90d=(~kept).sum())

    frame = (
        cases.with_columns(pl.col("case_id").cast(pl.Int64), pl.col("as_of").cast(pl.Date))
        .join(rolls, on=on, how="left")
        .join(paid, on=on, how="left")
        .join(last_paid, on=on, how="left")
        .join(contact_features, on=on, how="left")
        .join(visit_count, on=on, how="left")
        .join(last_visit, on=on, how="left")
        .join(promise_features, on=on, how="left")
    )
    overdue = pl.col("overdue_total").cast(pl.Float64) / 100
    outstanding = pl.col("outstanding_principal").cast(pl.Float64) / 100
    paid_90 = pl.col("paid_90d").fill_null(0).cast(pl.Float64) / 100
    return frame.select(
        "case_id",
        "as_of",
        pl.col("days_past_due").cast(pl.Float64),
        pl.col("bucket").fill_null("").replace_strict(BUCKET_RANK, default=4, return_dtype=pl.Float64).alias("bucket_level"),
        overdue.alias("overdue_total"),
        outstanding.alias("outstanding_principal"),
        (overdue / pl.max_horizontal(overdue + outstanding, pl.lit(1.0))).alias("overdue_share"),
        pl.col("product").fill_null("").replace_strict(PRODUCT_CODES, default=0, return_dtype=pl.Float64).alias("product"),
        ((pl.col("as_of") - pl.col("opened_on")).dt.total_days().cast(pl.Float64) / 30.4).floor().alias("months_on_book"),
        pl.col("bucket_rolls_6m").fill_null(0).cast(pl.Float64),
        pl.col("payments_90d").fill_null(0).cast(pl.Float64),
        (paid_90 / pl.max_horizontal(paid_90 + overdue, pl.lit(1.0))).alias("paid_share_90d"),
        (pl.col("as_of") - pl.col("last_paid_on")).dt.total_days().cast(pl.Float64).alias("days_since_last_payment"),
        pl.col("contacts_90d").fill_null(0).cast(pl.Float64),
        (pl.col("right_party_90d").cast(pl.Float64) / pl.col("contacts_90d").cast(pl.Float64)).alias("right_party_contact_rate"),
        pl.col("refusals_90d").fill_null(0).cast(pl.Float64),
        pl.col("promises_kept_90d").fill_null(0).cast(pl.Float64),
        pl.col("promises_broken_90d").fill_null(0).cast(pl.Float64),
        pl.col("visits_90d").fill_null(0).cast(pl.Float64),
        pl.col("last_visit_willingness").cast(pl.Float64),
        pl.col("last_visit_attitude").cast(pl.Float64),
        pl.col("last_visit_reason").cast(pl.Float64),
        pl.col("borrower_age").cast(pl.Float64),
    )


def data_hash(frame: pl.DataFrame) -> str:
    """A short fingerprint of a training table (its rows in order), stored with the model."""
    hashed = frame.hash_rows(seed=0).to_numpy().tobytes()
    return hashlib.sha256(hashed).hexdigest()[:32]


def history_panel(history: object) -> tuple[pl.DataFrame, Events]:
    """The simulation's case rows and events, in this module's shapes."""
    from doorstep.scoring.simulation import History

    assert isinstance(history, History)
    events = Events(
        bucket_moves=history.bucket_moves,
        contacts=history.contacts,
        visits=history.visits,
        promises=history.promises,
        payments=history.payments,
    )
    return history.cases, events


def as_of_label(day: dt.date) -> str:
    return day.isoformat()
