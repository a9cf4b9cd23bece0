"""The bank's payments file: reading and validating it in Polars, then allocating and writing it in bulk.

The contract is `docs/formats.md` (Payments). Reading reuses the snapshot reader (encodings, Parquet, line
numbers). Validation is column-wise: every problem becomes a `RowError` with the file line, the column,
the value and the reason, and a file with any problem is refused whole. The allocation is the waterfall
of `payments.waterfall` computed for all loans at once: each loan's state is the net amount S paid on
it, each debt a band of S, and a payment's or reversal's share of a debt is the change of S clipped to
that band (see waterfall.py). Writes go through `core.bulk` (COPY on PostgreSQL).
"""
# SQL here is assembled from model metadata (table and column names) and values this module computes;
# text from the file reaches the database only as COPY/executemany data.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.utils.translation import gettext as _

from doorstep.core import bulk
from doorstep.payments import waterfall
from doorstep.payments.models import ALLOCATED, Payment, PaymentState
from doorstep.portfolio import intake
from doorstep.portfolio.intake import LINE, MAX_KEPT_ERRORS, RowError, SnapshotRejected, fen_text
from doorstep.portfolio.models import Loan

REQUIRED_COLUMNS = ("txn_id", "loan_id", "amount", "paid_at", "channel")
OPTIONAL_COLUMNS = ("currency", "reversal_of")
TEXT_LIMITS = {"txn_id": 64, "loan_id": 64, "channel": 32, "reversal_of": 64}
SIGNED_AMOUNT_PATTERN = r"^-?\d{1,13}(\.\d{1,2})?$"
DATETIME_PATTERN = (
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(Z|[+-]\d{2}:?\d{2})?$"
)


class PaymentsRejected(Exception):
    """The file was refused and nothing was written. `errors` may be cut short; `total` counts them all."""

    def __init__(self, errors: Sequence[RowError], total: int | None = None) -> None:
        self.errors: list[RowError] = list(errors)[:MAX_KEPT_ERRORS]
        self.total: int = total if total is not None else len(errors)
        summary = _("The payments file was refused: %(count)d problem(s).") % {"count": self.total}
        if self.errors:
            first = self.errors[0]
            summary += " " + _("Line %(line)d, %(column)s: %(reason)s") % {
                "line": first.line,
                "column": first.column,
                "reason": first.reason,
            }
        super().__init__(summary)


def waterfall_order() -> tuple[str, ...]:
    return waterfall.check_order(getattr(settings, "DOORSTEP_PAYMENT_WATERFALL", waterfall.DEFAULT_ORDER))


def bank_time_zone() -> str:
    return getattr(settings, "DOORSTEP_BANK_TIME_ZONE", settings.TIME_ZONE)


# --------------------------------------------------------------------------- reading


@dataclass
class PaymentsFile:
    rows: pl.DataFrame  # typed: line, txn_id, loan_id, amount (fen), currency, paid_at (UTC), channel, reversal_of
    file_name: str
    file_sha256: str
    warnings: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.rows.height


def read_raw(path: Path, *, encoding: str | None = None) -> tuple[pl.DataFrame, list[str], str]:
    raw = path.read_bytes()
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        frame = intake._read_parquet(raw) if intake.is_parquet(path, raw) else intake._read_csv(raw, encoding)
    except SnapshotRejected as rejected:
        raise PaymentsRejected(rejected.errors, rejected.total) from rejected
    return frame_columns(frame, sha256)


def frame_columns(frame: pl.DataFrame, sha256: str) -> tuple[pl.DataFrame, list[str], str]:
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise PaymentsRejected(
            [
                RowError(1, name, "", _("the required column “%(column)s” is missing") % {"column": name})
                for name in missing
            ]
        )
    known = {*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, LINE}
    warnings = [
        _("Column “%(column)s” is not part of the payments format and was ignored.") % {"column": name}
        for name in frame.columns
        if name not in known
    ]
    present = [name for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if name in frame.columns]
    frame = frame.select(LINE, *[pl.col(name).cast(pl.String).fill_null("").str.strip_chars() for name in present])
    for name in OPTIONAL_COLUMNS:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit("", dtype=pl.String).alias(name))
    return frame, warnings, sha256


def _signed_fen(name: str) -> pl.Expr:
    text = pl.col(name)
    magnitude = text.str.strip_prefix("-")
    whole = magnitude.str.extract(r"^(\d+)", 1).cast(pl.Int64, strict=False)
    cents = magnitude.str.extract(r"\.(\d{1,2})$", 1).fill_null("0").str.pad_end(2, "0").cast(pl.Int64, strict=False)
    sign = pl.when(text.str.starts_with("-")).then(-1).otherwise(1)
    return pl.when(text.str.contains(SIGNED_AMOUNT_PATTERN)).then(sign * (whole * 100 + cents))


def _paid_at(name: str) -> pl.Expr:
    """ISO 8601 text as a UTC datetime: with its offset, or else in the bank's time zone."""
    text = pl.col(name)
    day = text.str.extract(DATETIME_PATTERN, 1)
    clock = text.str.extract(DATETIME_PATTERN, 2)
    clock = pl.when(clock.str.len_chars() == 5).then(clock + ":00").otherwise(clock)
    local = pl.concat_str(day, pl.lit("T"), clock).str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=False
    )
    offset = text.str.extract(DATETIME_PATTERN, 3)
    digits = offset.str.replace(":", "").str.slice(1)
    minutes = digits.str.slice(0, 2).cast(pl.Int64, strict=False) * 60 + digits.str.slice(2, 2).cast(
        pl.Int64, strict=False
    )
    signed = pl.when(offset == "Z").then(0).when(offset.str.starts_with("-")).then(-minutes).otherwise(minutes)
    with_offset = (local - pl.duration(minutes=signed)).dt.replace_time_zone("UTC")
    in_bank_zone = local.dt.replace_time_zone(bank_time_zone(), non_existent="null", ambiguous="earliest").dt.convert_time_zone("UTC")
    return pl.when(offset.is_null()).then(in_bank_zone).otherwise(with_offset)


def _first_problem(*checks: tuple[pl.Expr, str | pl.Expr]) -> pl.Expr:
    return intake._first_problem(*checks)


def validate(frame: pl.DataFrame) -> pl.DataFrame:
    """The file's own rules (each row alone, and duplicates within the file). Raises PaymentsRejected."""
    required = _("a value is required")
    # Lazily, so that Polars computes each regular expression match once however often it is used.
    frame = frame.lazy().with_columns(
        _signed_fen("amount").alias("_amount"),
        _paid_at("paid_at").alias("_paid_at"),
        (~pl.col("txn_id").is_first_distinct() & (pl.col("txn_id") != "")).alias("_duplicate"),
        (
            ~pl.col("reversal_of").is_first_distinct() & (pl.col("reversal_of") != "")
        ).alias("_double_reversal"),
    ).collect()
    problems: dict[str, pl.Expr] = {
        "txn_id": _first_problem(
            (pl.col("txn_id") == "", required),
            (pl.col("txn_id").str.len_chars() > TEXT_LIMITS["txn_id"], _("longer than 64 characters")),
            (pl.col("_duplicate"), _("the transaction id appears more than once in the file")),
        ),
        "loan_id": _first_problem(
            (pl.col("loan_id") == "", required),
            (pl.col("loan_id").str.len_chars() > TEXT_LIMITS["loan_id"], _("longer than 64 characters")),
        ),
        "amount": _first_problem(
            (pl.col("amount") == "", required),
            (pl.col("_amount").is_null(), _("not an amount in yuan with at most two decimal places")),
            (pl.col("_amount") == 0, _("an amount of zero is not a payment")),
            (
                (pl.col("_amount") < 0) & (pl.col("reversal_of") == ""),
                _("a negative amount is a reversal and must name reversal_of"),
            ),
            (
                (pl.col("_amount") > 0) & (pl.col("reversal_of") != ""),
                _("a reversal has a negative amount"),
            ),
        ),
        "currency": _first_problem(
            (
                (pl.col("currency") != "") & ~pl.col("currency").str.contains(r"^[A-Z]{3}$"),
                _("a currency is three capital letters (ISO 4217)"),
            )
        ),
        "paid_at": _first_problem(
            (pl.col("paid_at") == "", required),
            (pl.col("_paid_at").is_null(), _("not a date and time in ISO 8601 (YYYY-MM-DDTHH:MM:SS, offset optional)")),
        ),
        "channel": _first_problem(
            (pl.col("channel") == "", required),
            (pl.col("channel").str.len_chars() > TEXT_LIMITS["channel"], _("longer than 32 characters")),
        ),
        "reversal_of": _first_problem(
            (pl.col("reversal_of").str.len_chars() > TEXT_LIMITS["reversal_of"], _("longer than 64 characters")),
            (
                (pl.col("reversal_of") != "") & (pl.col("reversal_of") == pl.col("txn_id")),
                _("a transaction cannot reverse itself"),
            ),
            (pl.col("_double_reversal"), _("this payment is reversed more than once in the file")),
        ),
    }
    _raise_problems(frame, problems)
    return frame.select(
        pl.col(LINE).alias("line"),
        "txn_id",
        "loan_id",
        pl.col("_amount").alias("amount"),
        pl.when(pl.col("currency") == "")
        .then(pl.lit(settings.DOORSTEP_DEFAULT_CURRENCY))
        .otherwise(pl.col("currency"))
        .alias("currency"),
        pl.col("_paid_at").alias("paid_at"),
        "channel",
        "reversal_of",
    )


def _raise_problems(frame: pl.DataFrame, problems: dict[str, pl.Expr]) -> None:
    lazy = frame.lazy()
    parts = [
        lazy.select(pl.col(LINE).alias("line"), pl.col(name).cast(pl.String).alias("value"), problem.alias("reason"))
        .filter(pl.col("reason").is_not_null())
        .with_columns(pl.lit(name).alias("column"), pl.lit(order).alias("order"))
        for order, (name, problem) in enumerate(problems.items())
    ]
    found = pl.concat(parts).collect()
    if found.height:
        kept = found.sort("line", "order").head(MAX_KEPT_ERRORS)
        raise PaymentsRejected(
            [RowError(*row) for row in kept.select("line", "column", "value", "reason").iter_rows()], found.height
        )


def load_payments(path: Path, *, encoding: str | None = None) -> PaymentsFile:
    frame, warnings, sha256 = read_raw(path, encoding=encoding)
    if frame.height == 0:
        raise PaymentsRejected([RowError(2, "", "", _("the file has no rows"))])
    return PaymentsFile(rows=validate(frame), file_name=path.name, file_sha256=sha256, warnings=warnings)


# --------------------------------------------------------------------------- against the database


def _table(model: Any) -> str:
    return model._meta.db_table


STAGED_KEYS = "payments_staged_keys"


def _stage_keys(keys: pl.Series, *, using: str) -> str:
    """A temporary one-column table of the file's loan and transaction ids, to join instead of reading all."""
    postgresql = bulk.connections[using].vendor == "postgresql"
    bulk.execute(f"DROP TABLE IF EXISTS {STAGED_KEYS}", using=using)
    # PostgreSQL joins it by hashing, so an index would only slow the load; SQLite looks keys up one by one.
    key = "key varchar(64)" if postgresql else "key varchar(64) PRIMARY KEY"
    bulk.execute(f"CREATE TEMPORARY TABLE {STAGED_KEYS} ({key})", using=using)
    bulk.bulk_insert(table=STAGED_KEYS, frame=keys.unique().alias("key").to_frame(), using=using)
    if postgresql:
        bulk.execute(f"ANALYZE {STAGED_KEYS}", using=using)
    return STAGED_KEYS


@dataclass
class Plan:
    """What an import will write, worked out before anything is written. Money is in fen."""

    new_payments: pl.DataFrame  # txn_id, loan_pk, case_id, amount, currency, paid_at, channel, reversal_of, state,
    # and what each allocated (ALLOCATED's keys)
    flip_to_reversed: pl.Series  # ids of stored payments reversed now
    flip_to_reversal: pl.DataFrame  # id and allocation of stored waiting reversals that apply now
    loan_updates: pl.DataFrame  # id, case_id, new figures in fen, the stored status (LOAN_STATUS)
    duplicates: int
    waiting: int
    warnings: list[str]


FIGURES = ("penalty_interest", "overdue_interest", "overdue_principal", "outstanding_principal")
# The loan's overdue status as stored, carried to `Plan.loan_updates` (a loan paid up is no longer overdue).
LOAN_STATUS = {"was_overdue": pl.Int64, "days_past_due": pl.Int32, "bucket": pl.String}


def plan_import(payments: PaymentsFile, *, using: str = "default") -> Plan:
    """Check the file against what is stored and work out every row to write. Raises PaymentsRejected."""
    rows = payments.rows
    staged = _stage_keys(pl.concat([rows["loan_id"], rows["txn_id"], rows["reversal_of"].filter(rows["reversal_of"] != "")]), using=using)
    loans = bulk.read_frame(
        "SELECT l.id, l.loan_id, l.case_id, l.currency, "
        + ", ".join(intake._fen_sql(f"l.{name}") for name in FIGURES)
        + ", CASE WHEN l.is_overdue THEN 1 ELSE 0 END, l.days_past_due, l.bucket"
        + f" FROM {_table(Loan)} l JOIN {staged} s ON s.key = l.loan_id",
        {"loan_pk": pl.Int64, "loan_id": pl.String, "case_id": pl.Int64, "loan_currency": pl.String,
         **dict.fromkeys(FIGURES, pl.Int64), **LOAN_STATUS},
        using=using,
    )
    stored = bulk.read_frame(
        f"SELECT p.id, p.txn_id, p.loan_id, {intake._fen_sql('p.amount')}, p.reversal_of, p.state "
        f"FROM {_table(Payment)} p JOIN {staged} s ON s.key = p.txn_id",
        {"id": pl.Int64, "txn_id": pl.String, "loan_pk": pl.Int64, "amount": pl.Int64, "reversal_of": pl.String,
         "state": pl.String},
        using=using,
    )
    # Reversals already stored that name a transaction of this file (waiting for it, or reversing it twice).
    stored_reversals = bulk.read_frame(
        f"SELECT p.id, p.txn_id, p.loan_id, {intake._fen_sql('p.amount')}, p.reversal_of, p.state "
        f"FROM {_table(Payment)} p JOIN {staged} s ON s.key = p.reversal_of",
        {"id": pl.Int64, "txn_id": pl.String, "loan_pk": pl.Int64, "amount": pl.Int64, "reversal_of": pl.String,
         "state": pl.String},
        using=using,
    )
    frame = rows.join(loans, on="loan_id", how="left")
    # A transaction seen before: skipped if it says the same, refused if it says something else.
    frame = frame.join(
        stored.select("txn_id", pl.col("loan_pk").alias("stored_loan"), pl.col("amount").alias("stored_amount"),
                      pl.col("reversal_of").alias("stored_reversal_of")),
        on="txn_id", how="left",
    )
    seen = pl.col("stored_amount").is_not_null()
    same = (
        (pl.col("stored_loan") == pl.col("loan_pk"))
        & (pl.col("stored_amount") == pl.col("amount"))
        & (pl.col("stored_reversal_of") == pl.col("reversal_of"))
    )
    # The payment each reversal names: in this file, or stored.
    in_file = rows.filter(pl.col("reversal_of") == "").select(
        pl.col("txn_id").alias("reversal_of"), pl.col("loan_id").alias("original_loan_id"),
        pl.col("amount").alias("original_amount_file"),
    )
    stored_originals = stored.filter(pl.col("reversal_of") == "").select(
        pl.col("txn_id").alias("reversal_of"), pl.col("id").alias("original_id"),
        pl.col("loan_pk").alias("original_loan_pk"), pl.col("amount").alias("original_amount_db"),
        pl.col("state").alias("original_state"),
    )
    stored_is_reversal = stored.filter(pl.col("reversal_of") != "").select(
        pl.col("txn_id").alias("reversal_of"), pl.lit(True).alias("names_a_reversal")
    )
    other_reversals = stored_reversals.select(
        "reversal_of", pl.col("txn_id").alias("other_reversal"), pl.col("state").alias("other_state"),
        pl.col("loan_pk").alias("waiting_loan"), pl.col("amount").alias("waiting_amount"), pl.col("id").alias("waiting_id"),
    )
    frame = (
        frame.join(in_file, on="reversal_of", how="left")
        .join(stored_originals, on="reversal_of", how="left")
        .join(stored_is_reversal, on="reversal_of", how="left")
        .join(other_reversals, on="reversal_of", how="left")
    )
    # A stored reversal waiting for a payment of this file.
    waits_for_me = stored_reversals.filter(pl.col("state") == PaymentState.WAITING).select(
        pl.col("reversal_of").alias("txn_id"), pl.col("id").alias("waiting_for_me_id"),
        pl.col("loan_pk").alias("waiting_for_me_loan"), pl.col("amount").alias("waiting_for_me_amount"),
    )
    frame = frame.join(waits_for_me, on="txn_id", how="left")
    original_loan_file = loans.select(pl.col("loan_id").alias("original_loan_id"), pl.col("loan_pk").alias("original_loan_pk_file"))
    frame = frame.join(original_loan_file, on="original_loan_id", how="left")
    is_reversal = pl.col("reversal_of") != ""
    original_amount = pl.coalesce("original_amount_db", "original_amount_file")
    original_loan = pl.coalesce("original_loan_pk", "original_loan_pk_file")
    problems: dict[str, pl.Expr] = {
        "txn_id": _first_problem(
            (seen & ~same, _("this transaction id was imported before with different details")),
        ),
        "loan_id": _first_problem((pl.col("loan_pk").is_null(), _("no such loan"))),
        "currency": _first_problem(
            (
                pl.col("loan_pk").is_not_null() & (pl.col("currency") != pl.col("loan_currency")),
                pl.format(_("the loan is in {}"), pl.col("loan_currency")),
            )
        ),
        "reversal_of": _first_problem(
            (~seen & is_reversal & pl.col("names_a_reversal").fill_null(False), _("names a reversal, not a payment")),
            (
                ~seen & is_reversal & pl.col("other_reversal").is_not_null() & (pl.col("other_reversal") != pl.col("txn_id")),
                pl.format(_("this payment is already reversed by {}"), pl.col("other_reversal")),
            ),
            (
                ~seen & is_reversal & original_loan.is_not_null() & (original_loan != pl.col("loan_pk")),
                _("the payment it reverses is on another loan"),
            ),
            (
                ~seen & is_reversal & original_amount.is_not_null() & (original_amount != -pl.col("amount")),
                pl.format(_("a reversal undoes the whole payment: {} fen"), original_amount),
            ),
        ),
        "amount": _first_problem(
            (
                ~seen & pl.col("waiting_for_me_id").is_not_null()
                & ((pl.col("waiting_for_me_amount") != -pl.col("amount")) | (pl.col("waiting_for_me_loan") != pl.col("loan_pk"))),
                _("a stored reversal of this payment names another amount or loan"),
            ),
        ),
    }
    _raise_problems(frame.rename({"line": LINE}), problems)

    fresh = frame.filter(~seen)
    duplicates = frame.height - fresh.height
    if fresh.height == 0:
        # Everything was imported before: nothing to allocate or write.
        return Plan(
            new_payments=pl.DataFrame(schema={"txn_id": pl.String, "reversal_of": pl.String}),
            flip_to_reversed=pl.Series("id", [], dtype=pl.Int64),
            flip_to_reversal=pl.DataFrame(schema={"id": pl.Int64, **dict.fromkeys(ALLOCATED, pl.Int64)}),
            loan_updates=pl.DataFrame(),
            duplicates=duplicates,
            waiting=0,
            warnings=list(payments.warnings),
        )
    payments_new = fresh.filter(~is_reversal)
    reversals_new = fresh.filter(is_reversal)
    original_known = pl.col("original_amount_db").is_not_null() | pl.col("original_amount_file").is_not_null()
    reversals_now = reversals_new.filter(original_known)
    reversals_waiting = reversals_new.filter(~original_known)
    reversed_txns = set(reversals_now["reversal_of"].to_list()) | set(
        payments_new.filter(pl.col("waiting_for_me_id").is_not_null())["txn_id"].to_list()
    )
    new_rows = pl.concat(
        [
            payments_new.with_columns(
                pl.when(pl.col("txn_id").is_in(list(reversed_txns)))
                .then(pl.lit(PaymentState.REVERSED.value))
                .otherwise(pl.lit(PaymentState.APPLIED.value))
                .alias("state")
            ),
            reversals_now.with_columns(pl.lit(PaymentState.REVERSAL.value).alias("state")),
            reversals_waiting.with_columns(pl.lit(PaymentState.WAITING.value).alias("state")),
        ]
    ).select("txn_id", "loan_pk", "case_id", "amount", "currency", "paid_at", "channel", "reversal_of", "state")

    # Operations on S, per loan: payments first (by time), then the reversals that apply now.
    operations = pl.concat(
        [
            payments_new.select("txn_id", "loan_pk", "amount", "paid_at", pl.lit(0).alias("phase")),
            reversals_now.select("txn_id", "loan_pk", "amount", "paid_at", pl.lit(1).alias("phase")),
            payments_new.filter(pl.col("waiting_for_me_id").is_not_null()).select(
                pl.col("txn_id").alias("for_txn"), "loan_pk", (-pl.col("amount")).alias("amount"), "paid_at",
                pl.lit(1).alias("phase"),
            ).join(
                stored_reversals.filter(pl.col("state") == PaymentState.WAITING).select(
                    pl.col("reversal_of").alias("for_txn"), "txn_id"
                ),
                on="for_txn",
            ).select("txn_id", "loan_pk", "amount", "paid_at", "phase"),
        ]
    ).sort("loan_pk", "phase", "paid_at", "txn_id")
    allocations, loan_updates = _allocate(operations, loans, using=using)
    flip_to_reversed = stored_originals.filter(
        pl.col("reversal_of").is_in(reversals_now["reversal_of"].implode())
    )["original_id"]
    # A stored reversal waiting for a payment of this file applies now, with its allocation.
    flip_to_reversal = (
        stored_reversals.filter(pl.col("state") == PaymentState.WAITING)
        .filter(pl.col("reversal_of").is_in(payments_new["txn_id"].implode()))
        .select("id", "txn_id")
        .join(allocations, on="txn_id", how="left")
        .select("id", *[pl.col(name).fill_null(0) for name in ALLOCATED])
    )
    new_rows = new_rows.join(allocations, on="txn_id", how="left").with_columns(
        pl.col(name).fill_null(0) for name in ALLOCATED
    )
    warnings = list(payments.warnings)
    if reversals_waiting.height:
        warnings.append(
            _("%(count)d reversal(s) name a payment not yet received; they apply when it arrives.")
            % {"count": reversals_waiting.height}
        )
    return Plan(
        new_payments=new_rows,
        flip_to_reversed=flip_to_reversed,
        flip_to_reversal=flip_to_reversal,
        loan_updates=loan_updates,
        duplicates=duplicates,
        waiting=reversals_waiting.height,
        warnings=warnings,
    )


COMPONENT_FIGURE = {
    waterfall.PENALTY: "penalty_interest",
    waterfall.INTEREST: "overdue_interest",
    waterfall.PRINCIPAL: "overdue_principal",
}


def _allocate(operations: pl.DataFrame, loans: pl.DataFrame, *, using: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The waterfall for every loan at once. Returns each operation's allocation (txn_id and fen per component,
    as in ALLOCATED) and the loans' new figures."""
    order = waterfall_order()
    touched = operations.select("loan_pk").unique()
    if touched.height == 0:
        return pl.DataFrame(schema={"txn_id": pl.String, **dict.fromkeys(ALLOCATED, pl.Int64)}), pl.DataFrame()
    components = [*order, waterfall.EXCESS]
    applied_sums = ", ".join(f"SUM({intake._fen_sql('p.' + ALLOCATED[name])})" for name in components)
    applied_wide = bulk.read_frame(
        f"SELECT p.loan_id, {applied_sums} FROM {_table(Payment)} p "
        f"JOIN {_table(Loan)} l ON l.id = p.loan_id JOIN {STAGED_KEYS} s ON s.key = l.loan_id "
        f"GROUP BY p.loan_id",
        {"loan_pk": pl.Int64, **{name: pl.Int64 for name in components}},
        using=using,
    )
    state = (
        touched.join(loans, on="loan_pk", how="left")
        .join(applied_wide.select("loan_pk", *[pl.col(name).alias(f"applied_{name}") for name in components]),
              on="loan_pk", how="left")
        .with_columns(pl.col(f"applied_{name}").fill_null(0) for name in components)
        .with_columns((pl.col("outstanding_principal") - pl.col("overdue_principal")).alias("not_yet_due"))
    )
    remaining_of = {**COMPONENT_FIGURE, waterfall.OUTSTANDING: "not_yet_due"}
    # Each debt's band of S: [lower, upper), its capacity being what is owed now plus what was paid to it.
    lower: pl.Expr = pl.lit(0, dtype=pl.Int64)
    band_columns = []
    for name in order:
        capacity = pl.col(remaining_of[name]) + pl.col(f"applied_{name}")
        band_columns += [lower.alias(f"lower_{name}"), (lower + capacity).alias(f"upper_{name}")]
        lower = lower + capacity
    band_columns.append(lower.alias(f"lower_{waterfall.EXCESS}"))
    state = state.with_columns(
        *band_columns,
        pl.sum_horizontal(pl.col(f"applied_{name}") for name in components).alias("paid_before"),
    )
    bounds = [name for name in state.columns if name.startswith(("lower_", "upper_"))]
    steps = operations.join(
        state.select("loan_pk", "paid_before", *bounds), on="loan_pk", how="left", maintain_order="left"
    ).with_columns(
        (pl.col("paid_before") + pl.col("amount").cum_sum().over("loan_pk")).alias("s_after")
    ).with_columns((pl.col("s_after") - pl.col("amount")).alias("s_before"))

    def clip(value: str, name: str) -> pl.Expr:
        low = pl.col(f"lower_{name}")
        if name == waterfall.EXCESS:
            return pl.max_horizontal(pl.col(value), low) - low
        return pl.min_horizontal(pl.max_horizontal(pl.col(value), low), pl.col(f"upper_{name}")) - low

    allocations = steps.select(
        "txn_id",
        *[
            (clip("s_after", name) - clip("s_before", name)).alias(name) if name in components
            else pl.lit(0, dtype=pl.Int64).alias(name)
            for name in ALLOCATED
        ],
    )
    final = steps.group_by("loan_pk").agg(
        pl.col("s_after").last().alias("s_final"), *[pl.col(name).first() for name in bounds]
    )
    new_remaining = [
        (pl.col(f"upper_{name}") - pl.col(f"lower_{name}") - clip("s_final", name)).alias(f"left_{name}")
        for name in order
    ]
    final = final.join(
        state.select("loan_pk", "case_id", *FIGURES, "not_yet_due", *LOAN_STATUS), on="loan_pk"
    ).with_columns(new_remaining)
    figure = {
        fig: pl.col(f"left_{name}") if name in order else pl.col(fig) for name, fig in COMPONENT_FIGURE.items()
    }
    not_yet_due = pl.col(f"left_{waterfall.OUTSTANDING}") if waterfall.OUTSTANDING in order else pl.col("not_yet_due")
    loan_updates = final.select(
        pl.col("loan_pk").alias("id"),
        "case_id",
        figure["penalty_interest"].alias("penalty_interest"),
        figure["overdue_interest"].alias("overdue_interest"),
        figure["overdue_principal"].alias("overdue_principal"),
        (figure["overdue_principal"] + not_yet_due).alias("outstanding_principal"),
        *LOAN_STATUS,
    )
    return allocations, loan_updates


def money_text(name: str) -> pl.Expr:
    return fen_text(pl.col(name)).alias(name)


def as_of(value: dt.datetime) -> pl.Expr:
    return pl.lit(value).dt.convert_time_zone("UTC")
