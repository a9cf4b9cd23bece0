"""The bank's daily overdue-loan snapshot: reading, validating and computing it in Polars.

The contract is `docs/formats.md`. Reading and validation are column-wise (no Python loop per row):
every problem becomes a `RowError` naming the file line, the column, the (masked) value and the reason,
and a file with any problem is refused as a whole. `plan_changes` compares the file with the stored
portfolio, also in Polars, so that only rows that really change are written by `write_changes`.
"""
# SQL here is assembled from model metadata (table and column names) and values this module computes
# (integers, ISO dates, status constants); no text from a file or a user reaches it.
# ruff: noqa: S608

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _

from doorstep.core import bulk
from doorstep.core.crypto import bulk_encrypt, bulk_lookup_hash
from doorstep.core.identity import CHECK_CHARACTERS, WEIGHTS
from doorstep.core.masking import mask_national_id, mask_phone
from doorstep.portfolio.models import (
    ACTIVE_CASE_STATUSES,
    CASE_TRANSITIONS,
    Borrower,
    BucketMove,
    Case,
    CaseStatus,
    CaseStatusChange,
    Loan,
)

REQUIRED_COLUMNS = (
    "snapshot_date",
    "loan_id",
    "customer_id",
    "name",
    "national_id",
    "phone",
    "address",
    "branch_code",
    "product_code",
    "principal",
    "outstanding_principal",
    "overdue_principal",
    "overdue_interest",
    "penalty_interest",
    "first_unpaid_due_date",
)
OPTIONAL_COLUMNS = ("latitude", "longitude", "currency", "days_past_due")
AMOUNT_COLUMNS = (
    "principal",
    "outstanding_principal",
    "overdue_principal",
    "overdue_interest",
    "penalty_interest",
)
TEXT_LIMITS = {"loan_id": 64, "customer_id": 64, "name": 100, "branch_code": 32, "product_code": 32}
MASKED_COLUMNS: dict[str, Callable[[str], str]] = {"national_id": mask_national_id, "phone": mask_phone}
# How many errors a rejection keeps in full; the total is always counted.
MAX_KEPT_ERRORS = 1000
LINE = "_line"
ENCRYPT_CHUNK_ROWS = 50_000
# From this many new loans on, indexes and keys are built once at the end of the load (core.bulk).
BULK_LOAD_NEW_LOANS = 100_000
UTF8_BOM = codecs.BOM_UTF8
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RowError:
    """One problem in a snapshot file. `line` is the file line (the header is line 1)."""

    line: int
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "value": self.value, "reason": self.reason}


class SnapshotRejected(Exception):
    """The file was refused and nothing was written. `errors` may be cut short; `total` counts them all."""

    def __init__(self, errors: Sequence[RowError], total: int | None = None) -> None:
        self.errors: list[RowError] = list(errors)[:MAX_KEPT_ERRORS]
        self.total: int = total if total is not None else len(errors)
        first = self.errors[0] if self.errors else None
        summary = _("The snapshot was refused: %(count)d problem(s).") % {"count": self.total}
        if first is not None:
            summary += " " + _("Line %(line)d, %(column)s: %(reason)s") % {
                "line": first.line,
                "column": first.column,
                "reason": first.reason,
            }
        super().__init__(summary)


@dataclass
class Snapshot:
    """A validated snapshot: one typed row per loan, money in integer fen."""

    loans: pl.DataFrame
    snapshot_date: dt.date
    file_name: str
    file_sha256: str
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.loans.height


# --------------------------------------------------------------------------- reading


def _line_of(raw: bytes, position: int) -> int:
    return raw.count(b"\n", 0, position) + 1


def decode_csv(raw: bytes, encoding: str | None) -> bytes:
    """The file as UTF-8 bytes without a BOM. `encoding=None` detects UTF-8 (with or without BOM), else GB18030."""
    if encoding is None:
        if raw.startswith(UTF8_BOM):
            return decode_csv(raw[len(UTF8_BOM) :], "utf-8")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as utf8_error:
            utf8_failed_at = utf8_error.start
        else:
            return raw
        try:
            return raw.decode("gb18030").encode("utf-8")
        except UnicodeDecodeError as error:
            # The reading that got further is the file's real encoding: its failure is the bad line.
            position = max(utf8_failed_at, error.start)
            raise SnapshotRejected(
                [
                    RowError(
                        _line_of(raw, position), "", "", _("the file is neither UTF-8 nor GBK/GB18030 text")
                    )
                ]
            ) from error
    try:
        codec = codecs.lookup(encoding).name
    except LookupError as error:
        raise SnapshotRejected([RowError(1, "", encoding, _("unknown text encoding"))]) from error
    if codec == "utf-8":
        body = raw[len(UTF8_BOM) :] if raw.startswith(UTF8_BOM) else raw
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SnapshotRejected(
                [
                    RowError(
                        _line_of(body, error.start),
                        "",
                        "",
                        _("the text is not valid UTF-8 (is the file GBK? then choose that encoding)"),
                    )
                ]
            ) from error
        return body
    try:
        return raw.decode(codec).encode("utf-8")
    except UnicodeDecodeError as error:
        raise SnapshotRejected(
            [
                RowError(
                    _line_of(raw, error.start),
                    "",
                    "",
                    _("the text is not valid %(encoding)s") % {"encoding": encoding.upper()},
                )
            ]
        ) from error


def _record_structure(data: bytes, width: int) -> tuple[np.ndarray, np.ndarray]:
    """For each data record: the file line it starts on, and whether it is blank.

    Column-wise over the bytes (numpy): a comma or line break counts only outside quotes, found from
    the parity of the quote characters before it. Refuses an unterminated quote and any record whose
    number of fields differs from the header's, naming the line (a cut-short last line among them).
    """
    view = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(view == ord("\n"))
    if b'"' not in data:
        # The usual export: no quoting, so records are lines. If the commas add up to the header's width
        # on every non-blank line (a longer line would already fail to parse), no line is short.
        ends = newlines if data.endswith(b"\n") else np.append(newlines, len(data))
        blank = _blank_records(view, np.concatenate(([0], newlines + 1))[: ends.size], ends)
        if data.count(b",") == int((~blank).sum()) * (width - 1):
            return np.arange(2, ends.size + 1, dtype=np.int64), blank[1:]
    quotes = np.flatnonzero(view == ord('"'))
    if quotes.size % 2:
        opened_at = int(quotes[-1])
        raise SnapshotRejected(
            [
                RowError(
                    int(np.searchsorted(newlines, opened_at)) + 1,
                    "",
                    "",
                    _("a quoted field is never closed: the file is cut short or malformed"),
                )
            ]
        )
    newlines_outside = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    ends = newlines_outside
    if not data.endswith(b"\n"):
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], newlines_outside + 1))[: ends.size]
    commas = np.flatnonzero(view == ord(","))
    commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
    fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    blank = _blank_records(view, starts, ends)
    lines = np.searchsorted(newlines, starts) + 1
    fields, blank, lines = fields[1:], blank[1:], lines[1:]
    wrong = np.flatnonzero(~blank & (fields != width))
    if wrong.size:
        last = lines.size - 1
        errors = [
            RowError(
                int(lines[index]),
                "",
                "",
                _truncated_reason(int(fields[index]), width)
                if index == last and fields[index] < width
                else _("the line has %(found)d fields but the header has %(expected)d")
                % {"found": int(fields[index]), "expected": width},
            )
            for index in wrong[:MAX_KEPT_ERRORS]
        ]
        raise SnapshotRejected(errors, int(wrong.size))
    return lines.astype(np.int64), blank


def _blank_records(view: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    lengths = ends - starts
    last_byte = view[np.maximum(ends - 1, 0)] if ends.size else np.zeros(0, dtype=np.uint8)
    return (lengths == 0) | ((lengths == 1) & (last_byte == ord("\r")))


def _truncated_reason(fields: int, width: int) -> str:
    return _("the last line is cut short: %(found)d fields instead of %(expected)d") % {
        "found": fields,
        "expected": width,
    }


def _read_csv(raw: bytes, encoding: str | None) -> pl.DataFrame:
    data = decode_csv(raw, encoding)
    first_line = data[: data.find(b"\n")] if b"\n" in data else data
    header = next(csv.reader([first_line.decode("utf-8").rstrip("\r")]), [])
    if not header:
        raise SnapshotRejected([RowError(1, "", "", _("the file is empty: it needs a header line"))])
    line_numbers, blanks = _record_structure(data, len(header))
    if line_numbers.size == 0:
        frame = pl.DataFrame(schema={name.strip(): pl.String for name in header})
    else:
        try:
            frame = pl.read_csv(
                data,
                infer_schema=False,
                empty_string_is_null=False,
                with_column_names=lambda names: [name.strip() for name in names],
            )
        except pl.exceptions.PolarsError as error:
            problem = str(error).splitlines()[0]
            raise SnapshotRejected(
                [RowError(1, "", "", _("the file is not readable CSV: %(problem)s") % {"problem": problem})]
            ) from error
    if frame.height != line_numbers.size:
        raise SnapshotRejected(
            [RowError(1, "", "", _("the file's lines could not be matched to its records"))]
        )
    return frame.with_columns(pl.Series(LINE, line_numbers)).filter(pl.Series(~blanks))


def _read_parquet(raw: bytes) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(io.BytesIO(raw))
    except pl.exceptions.PolarsError as error:
        raise SnapshotRejected([RowError(1, "", "", _("the file is not readable Parquet"))]) from error
    as_text = [
        (pl.col(name).dt.strftime("%Y-%m-%d") if dtype == pl.Date else pl.col(name).cast(pl.String))
        .fill_null("")
        .alias(name)
        for name, dtype in frame.schema.items()
    ]
    # Parquet has no lines; row n is reported as "line" n + 1 so that numbering matches the CSV form.
    return frame.select(as_text).with_row_index(LINE, offset=2).with_columns(pl.col(LINE).cast(pl.Int64))


def is_parquet(path: Path, raw: bytes) -> bool:
    return path.suffix.lower() == ".parquet" or raw[:4] == b"PAR1"


def read_file(path: Path, *, encoding: str | None = None) -> tuple[pl.DataFrame, list[str], str]:
    """All columns as stripped text plus `_line`; the warnings (extra columns); the file's SHA-256."""
    raw = path.read_bytes()
    sha256 = hashlib.sha256(raw).hexdigest()
    frame = _read_parquet(raw) if is_parquet(path, raw) else _read_csv(raw, encoding)
    del raw
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise SnapshotRejected(
            [
                RowError(1, name, "", _("the required column “%(column)s” is missing") % {"column": name})
                for name in missing
            ]
        )
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS) | {LINE}
    extra = [name for name in frame.columns if name not in known]
    warnings = [
        _("Column “%(column)s” is not part of the snapshot format and was ignored.") % {"column": name}
        for name in extra
    ]
    present = [name for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if name in frame.columns]
    frame = frame.select(LINE, *[pl.col(name).str.strip_chars() for name in present])
    for name in OPTIONAL_COLUMNS:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit("", dtype=pl.String).alias(name))
    return frame, warnings, sha256


# --------------------------------------------------------------------------- validation

AMOUNT_PATTERN = r"^\d{1,13}(\.\d{1,2})?$"
NEGATIVE_AMOUNT_PATTERN = r"^-\d+(\.\d+)?$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
COORDINATE_PATTERN = r"^-?\d{1,3}(\.\d{1,12})?$"


def _date(name: str) -> pl.Expr:
    text = pl.col(name)
    return pl.when(text.str.contains(DATE_PATTERN)).then(text.str.to_date("%Y-%m-%d", strict=False))


def fen(name: str) -> pl.Expr:
    """Decimal text with at most two places as integer fen, by string arithmetic (no float on the way)."""
    text = pl.col(name)
    whole = text.str.extract(r"^(\d+)", 1).cast(pl.Int64, strict=False)
    cents = (
        text.str.extract(r"\.(\d{1,2})$", 1).fill_null("0").str.pad_end(2, "0").cast(pl.Int64, strict=False)
    )
    return pl.when(text.str.contains(AMOUNT_PATTERN)).then(whole * 100 + cents)


def fen_text(expr: pl.Expr, places: int = 2) -> pl.Expr:
    """Integer fen (or 10^-places units) as exact decimal text: 123456 → "1234.56"."""
    scale = 10**places
    magnitude = expr.abs()
    return pl.concat_str(
        pl.when(expr < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (magnitude // scale).cast(pl.String),
        pl.lit("."),
        (magnitude % scale).cast(pl.String).str.zfill(places),
    )


def _micro_degrees(name: str) -> pl.Expr:
    """Coordinates are not money: a float rounded to 6 places (the stored precision) is exact enough."""
    text = pl.col(name)
    return pl.when(text.str.contains(COORDINATE_PATTERN)).then(
        (text.cast(pl.Float64, strict=False) * 1_000_000).round().cast(pl.Int64)
    )


def _id_check_character(name: str) -> pl.Expr:
    digits = [
        pl.col(name).str.slice(index, 1).cast(pl.Int64, strict=False) * weight
        for index, weight in enumerate(WEIGHTS)
    ]
    remainder = pl.sum_horizontal(digits) % 11
    return remainder.replace_strict(dict(enumerate(CHECK_CHARACTERS)), return_dtype=pl.String)


def _first_problem(*checks: tuple[pl.Expr, str | pl.Expr]) -> pl.Expr:
    """The reason of the first failing check, or null. Later checks assume the earlier ones passed."""
    condition, reason = checks[0]
    chain = pl.when(condition).then(reason if isinstance(reason, pl.Expr) else pl.lit(reason))
    for condition, reason in checks[1:]:
        chain = chain.when(condition).then(reason if isinstance(reason, pl.Expr) else pl.lit(reason))
    return chain.otherwise(pl.lit(None, dtype=pl.String))


def _bucket_expr(days: pl.Expr, bands: Sequence[tuple[str, int, int | None]], default: str) -> pl.Expr:
    chain: Any = pl
    for code, first, last in bands:
        condition = days >= first if last is None else days.is_between(first, last)
        chain = chain.when(condition).then(pl.lit(code))
    return chain.otherwise(pl.lit(default)) if bands else pl.lit(default)


def bucket_of(days: pl.Expr) -> pl.Expr:
    return _bucket_expr(days, settings.DOORSTEP_BUCKETS, "")


def classification_of(days: pl.Expr) -> pl.Expr:
    return _bucket_expr(days, settings.DOORSTEP_CLASSIFICATION, "pass")


PARSED = "_parsed_"


def _parsed(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with each value parsed once (null where it does not parse), and the cross-row facts."""
    frame = frame.with_columns(
        _date("snapshot_date").alias(PARSED + "snapshot_date"),
        _date("first_unpaid_due_date").alias(PARSED + "first_unpaid_due_date"),
        *[fen(name).alias(PARSED + name) for name in AMOUNT_COLUMNS],
        *[_micro_degrees(name).alias(PARSED + name) for name in ("latitude", "longitude")],
    )
    duplicated = ~frame["loan_id"].is_first_distinct()
    if duplicated.any():
        first_lines = frame.group_by("loan_id").agg(pl.col(LINE).min().alias(PARSED + "first_line"))
        frame = frame.join(first_lines, on="loan_id", how="left", maintain_order="left").with_columns(
            pl.when(duplicated).then(pl.col(PARSED + "first_line")).alias(PARSED + "first_line")
        )
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias(PARSED + "first_line"))
    conflicts = (
        frame.group_by("customer_id")
        .agg(pl.col("national_id").n_unique().alias("identities"))
        .filter(pl.col("identities") > 1)["customer_id"]
    )
    return frame.with_columns(
        pl.col("customer_id").is_in(conflicts.implode()).alias(PARSED + "identity_conflict")
    )


def _problems(expected_date: dt.date | None) -> dict[str, pl.Expr]:
    """For every column, an expression giving the row's first problem with it (null when none)."""
    required = _("a value is required")
    not_amount = _("not an amount in yuan with at most two decimal places")
    negative = _("must not be negative")
    not_date = _("not a date written YYYY-MM-DD")
    snapshot_date = pl.col(PARSED + "snapshot_date")
    first_unpaid = pl.col(PARSED + "first_unpaid_due_date")
    if expected_date is not None:
        date_check = (
            snapshot_date != pl.lit(expected_date),
            _("differs from the snapshot date asked for (%(date)s)") % {"date": expected_date.isoformat()},
        )
    else:
        date_check = (
            snapshot_date != snapshot_date.drop_nulls().first(),
            _("the file holds more than one snapshot date; the first row has another"),
        )
    problems: dict[str, pl.Expr] = {
        "snapshot_date": _first_problem(
            (pl.col("snapshot_date") == "", required), (snapshot_date.is_null(), not_date), date_check
        ),
        "loan_id": _first_problem(
            (pl.col("loan_id") == "", required),
            (
                pl.col(PARSED + "first_line").is_not_null(),
                pl.format(
                    _("the loan number appears more than once (first on line {})"),
                    pl.col(PARSED + "first_line"),
                ),
            ),
        ),
        "customer_id": _first_problem(
            (pl.col("customer_id") == "", required),
            (
                pl.col(PARSED + "identity_conflict"),
                _("rows of this customer number carry different resident ID numbers"),
            ),
        ),
        "national_id": _first_problem(
            (pl.col("national_id") == "", required),
            (
                ~pl.col("national_id").str.contains(r"^\d{17}[\dX]$"),
                _("must be 17 digits followed by a digit or X"),
            ),
            (
                pl.col("national_id").str.slice(6, 8).str.to_date("%Y%m%d", strict=False).is_null(),
                _("the birth date inside it is not a real date"),
            ),
            (
                _id_check_character("national_id") != pl.col("national_id").str.slice(17, 1),
                _("the check character does not match (GB 11643)"),
            ),
        ),
        "phone": _first_problem(
            (pl.col("phone") == "", required),
            (~pl.col("phone").str.contains(r"^1\d{10}$"), _("a mobile number has 11 digits starting with 1")),
        ),
        "address": _first_problem((pl.col("address") == "", required)),
        "currency": _first_problem(
            (
                (pl.col("currency") != "") & ~pl.col("currency").str.contains(r"^[A-Z]{3}$"),
                _("a currency is three capital letters (ISO 4217)"),
            )
        ),
        "first_unpaid_due_date": _first_problem(
            (pl.col("first_unpaid_due_date") == "", required),
            (first_unpaid.is_null(), not_date),
            (first_unpaid >= snapshot_date, _("must be before the snapshot date")),
        ),
    }
    for name, limit in TEXT_LIMITS.items():
        too_long = (
            pl.col(name).str.len_chars() > limit,
            _("longer than %(limit)d characters") % {"limit": limit},
        )
        if name in problems:
            problems[name] = pl.coalesce(problems[name], _first_problem(too_long))
        else:
            problems[name] = _first_problem((pl.col(name) == "", required), too_long)
    for name in AMOUNT_COLUMNS:
        problems[name] = _first_problem(
            (pl.col(name) == "", required),
            (pl.col(name).str.contains(NEGATIVE_AMOUNT_PATTERN), negative),
            (pl.col(PARSED + name).is_null(), not_amount),
        )
    problems["principal"] = pl.coalesce(
        problems["principal"],
        _first_problem((pl.col(PARSED + "principal") <= 0, _("must be greater than zero"))),
    )
    problems["outstanding_principal"] = pl.coalesce(
        problems["outstanding_principal"],
        _first_problem(
            (
                pl.col(PARSED + "outstanding_principal") > pl.col(PARSED + "principal"),
                _("must not exceed the principal"),
            )
        ),
    )
    problems["overdue_principal"] = pl.coalesce(
        problems["overdue_principal"],
        _first_problem(
            (
                pl.col(PARSED + "overdue_principal") > pl.col(PARSED + "outstanding_principal"),
                _("must not exceed the outstanding principal"),
            )
        ),
    )
    days = (snapshot_date - first_unpaid).dt.total_days()
    given_days = pl.col("days_past_due").cast(pl.Int64, strict=False)
    problems["days_past_due"] = _first_problem(
        (
            (pl.col("days_past_due") != "") & ~pl.col("days_past_due").str.contains(r"^\d{1,6}$"),
            _("not a whole number of days"),
        ),
        (
            (pl.col("days_past_due") != "") & days.is_not_null() & (given_days != days),
            pl.format(_("does not equal snapshot_date minus first_unpaid_due_date ({} days)"), days),
        ),
    )
    for name, other, limit in (("latitude", "longitude", 90), ("longitude", "latitude", 180)):
        degrees = pl.col(PARSED + name)
        problems[name] = _first_problem(
            (
                (pl.col(name) == "") & (pl.col(other) != ""),
                _("latitude and longitude are given together or not at all"),
            ),
            ((pl.col(name) != "") & degrees.is_null(), _("not a number of degrees")),
            (degrees.abs() > limit * 1_000_000, _("out of range (±%(limit)d°)") % {"limit": limit}),
        )
    return problems


def validate(frame: pl.DataFrame, *, expected_date: dt.date | None = None) -> pl.DataFrame:
    """Every problem of every row, or the typed loans. Raises `SnapshotRejected` listing all problems."""
    if frame.height == 0:
        # A full file with no rows would cure every open case: far likelier a broken export than a fact.
        raise SnapshotRejected(
            [
                RowError(
                    2,
                    "",
                    "",
                    _("the file has no rows; an empty snapshot would cure every case, so it is refused"),
                )
            ]
        )
    frame = _parsed(frame.with_columns(pl.col("national_id").str.to_uppercase()))
    lazy = frame.lazy()
    parts = [
        lazy.select(pl.col(LINE).alias("line"), pl.col(name).alias("value"), problem.alias("reason"))
        .filter(pl.col("reason").is_not_null())
        .with_columns(pl.lit(name).alias("column"), pl.lit(order).alias("order"))
        for order, (name, problem) in enumerate(_problems(expected_date).items())
    ]
    found = pl.concat(parts).collect()
    if found.height:
        kept = found.sort("line", "order").head(MAX_KEPT_ERRORS)
        errors = [
            RowError(
                line, column, MASKED_COLUMNS[column](value) if column in MASKED_COLUMNS else value, reason
            )
            for line, column, value, reason in kept.select("line", "column", "value", "reason").iter_rows()
        ]
        raise SnapshotRejected(errors, found.height)
    snapshot_date = frame[PARSED + "snapshot_date"][0]
    typed = frame.select(
        LINE,
        "loan_id",
        "customer_id",
        "name",
        "national_id",
        "phone",
        "address",
        "branch_code",
        "product_code",
        pl.when(pl.col("currency") == "")
        .then(pl.lit(settings.DOORSTEP_DEFAULT_CURRENCY))
        .otherwise(pl.col("currency"))
        .alias("currency"),
        *[pl.col(PARSED + name).alias(name) for name in ("latitude", "longitude", *AMOUNT_COLUMNS)],
        pl.col(PARSED + "first_unpaid_due_date").alias("first_unpaid_due_date"),
    ).with_columns(
        (pl.lit(snapshot_date) - pl.col("first_unpaid_due_date"))
        .dt.total_days()
        .cast(pl.Int32)
        .alias("days_past_due"),
        (pl.col("overdue_principal") + pl.col("overdue_interest") + pl.col("penalty_interest")).alias(
            "overdue_amount"
        ),
    )
    return typed.with_columns(
        bucket_of(pl.col("days_past_due")).alias("bucket"),
        classification_of(pl.col("days_past_due")).alias("classification"),
    )


def load_snapshot(
    path: Path,
    *,
    snapshot_date: dt.date | None = None,
    encoding: str | None = None,
    progress: ProgressCallback | None = None,
) -> Snapshot:
    """Read and validate a snapshot file; nothing touches the database."""
    frame, warnings, sha256 = read_file(path, encoding=encoding)
    if progress:
        progress("read", frame.height, frame.height)
    loans = validate(frame, expected_date=snapshot_date)
    if progress:
        progress("validated", loans.height, loans.height)
    date = snapshot_date or _file_date(frame)
    return Snapshot(
        loans=loans, snapshot_date=date, file_name=path.name, file_sha256=sha256, warnings=warnings
    )


def _file_date(frame: pl.DataFrame) -> dt.date:
    return dt.date.fromisoformat(frame["snapshot_date"][0])


# --------------------------------------------------------------------------- the stored portfolio

MONEY_COLUMNS = ("outstanding_principal", "overdue_principal", "overdue_interest", "penalty_interest")
CASE_FIGURES = ("snapshot_date", "branch_code", "days_past_due", "bucket", *MONEY_COLUMNS, "overdue_total")
LOAN_FIGURES = (
    "borrower_id",
    "case_id",
    "branch_code",
    "product_code",
    "currency",
    *AMOUNT_COLUMNS,
    "first_unpaid_due_date",
    "days_past_due",
    "bucket",
    "classification",
    "is_overdue",
    "snapshot_date",
)
ACTIVE_SQL = ", ".join(f"'{status.value}'" for status in ACTIVE_CASE_STATUSES)
CURABLE_STATUSES = [status for status, targets in CASE_TRANSITIONS.items() if CaseStatus.CURED in targets]


def _table(model: type[models.Model]) -> str:
    return model._meta.db_table


def _fen_sql(column: str) -> str:
    return f"CAST(ROUND({column} * 100) AS BIGINT)"


def _micro_sql(column: str) -> str:
    return f"CAST(ROUND({column} * 1000000) AS BIGINT)"


def _max_id(model: type[models.Model], using: str) -> int:
    frame = bulk.read_frame(
        f"SELECT COALESCE(MAX(id), 0) FROM {_table(model)}", {"id": pl.Int64}, using=using
    )
    return int(frame["id"][0])


@dataclass
class PortfolioState:
    """What the database holds now, as far as the import needs to compare."""

    borrowers: pl.DataFrame
    loans: pl.DataFrame
    active_cases: pl.DataFrame
    moves_today: pl.DataFrame


def read_state(snapshot_date: dt.date, *, using: str = "default") -> PortfolioState:
    borrowers = bulk.read_frame(
        f"SELECT id, customer_id, national_id_hash, phone_hash, name, address, {_micro_sql('latitude')}, "
        f"{_micro_sql('longitude')} FROM {_table(Borrower)}",
        {
            "id": pl.Int64,
            "customer_id": pl.String,
            "national_id_hash": pl.String,
            "phone_hash": pl.String,
            "name": pl.String,
            "address": pl.String,
            "latitude": pl.Int64,
            "longitude": pl.Int64,
        },
        using=using,
    )
    loans = bulk.read_frame(
        f"SELECT id, loan_id, borrower_id, case_id, branch_code, product_code, currency, "
        f"{', '.join(_fen_sql(name) for name in AMOUNT_COLUMNS)}, first_unpaid_due_date, days_past_due, bucket, "
        f"classification, CASE WHEN is_overdue THEN 1 ELSE 0 END, snapshot_date FROM {_table(Loan)}",
        {
            "id": pl.Int64,
            "loan_id": pl.String,
            "borrower_id": pl.Int64,
            "case_id": pl.Int64,
            "branch_code": pl.String,
            "product_code": pl.String,
            "currency": pl.String,
            **dict.fromkeys(AMOUNT_COLUMNS, pl.Int64),
            "first_unpaid_due_date": pl.Date,
            "days_past_due": pl.Int32,
            "bucket": pl.String,
            "classification": pl.String,
            "is_overdue": pl.Int64,
            "snapshot_date": pl.Date,
        },
        using=using,
    ).with_columns(pl.col("is_overdue").cast(pl.Boolean))
    active_cases = bulk.read_frame(
        f"SELECT id, borrower_id, status, opened_on, snapshot_date, branch_code, days_past_due, bucket, "
        f"{', '.join(_fen_sql(name) for name in (*MONEY_COLUMNS, 'overdue_total'))} "
        f"FROM {_table(Case)} WHERE status IN ({ACTIVE_SQL})",
        {
            "id": pl.Int64,
            "borrower_id": pl.Int64,
            "status": pl.String,
            "opened_on": pl.Date,
            "snapshot_date": pl.Date,
            "branch_code": pl.String,
            "days_past_due": pl.Int32,
            "bucket": pl.String,
            **dict.fromkeys((*MONEY_COLUMNS, "overdue_total"), pl.Int64),
        },
        using=using,
    )
    moves_today = bulk.read_frame(
        f"SELECT id, loan_id, case_id, from_bucket, to_bucket, days_past_due, {_fen_sql('overdue_amount')} "
        f"FROM {_table(BucketMove)} WHERE snapshot_date = '{snapshot_date.isoformat()}'",
        {
            "id": pl.Int64,
            "loan_pk": pl.Int64,
            "case_id": pl.Int64,
            "from_bucket": pl.String,
            "to_bucket": pl.String,
            "days_past_due": pl.Int32,
            "overdue_amount": pl.Int64,
        },
        using=using,
    )
    return PortfolioState(borrowers, loans, active_cases, moves_today)


# --------------------------------------------------------------------------- comparing and writing


@dataclass
class ImportCounts:
    borrowers_created: int = 0
    borrowers_updated: int = 0
    loans_created: int = 0
    loans_updated: int = 0
    loans_cleared: int = 0
    cases_opened: int = 0
    cases_cured: int = 0
    cases_updated: int = 0
    bucket_moves: int = 0

    @property
    def changed_anything(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _differs(names: Sequence[str], suffix: str = "_db") -> pl.Expr:
    return pl.any_horizontal([pl.col(name).ne_missing(pl.col(name + suffix)) for name in names])


def _sql_value(value: Any) -> Any:
    if isinstance(value, bool | int | str) or value is None:
        return value
    return str(value)


def with_model_defaults(model: type[models.Model], frame: pl.DataFrame) -> pl.DataFrame:
    """Fill the model's other columns with their defaults, so that fields added later need no change here."""
    missing = []
    for model_field in model._meta.concrete_fields:
        column = model_field.column
        if column in frame.columns or model_field.primary_key:
            continue
        value = _sql_value(model_field.get_default())
        if value is None and not model_field.null:
            raise ValueError(f"{model.__name__}.{model_field.name} has no default for a bulk insert")
        if isinstance(value, (list, dict)):
            raise ValueError(
                f"{model.__name__}.{model_field.name}: structured defaults are not supported in bulk"
            )
        missing.append(pl.lit(value).alias(column))
    return frame.with_columns(missing) if missing else frame


def _masked_national_id(name: str) -> pl.Expr:
    # mask_national_id for an 18-character ID: 6 leading and 4 trailing characters stay.
    return pl.concat_str(pl.col(name).str.slice(0, 6), pl.lit("********"), pl.col(name).str.slice(14, 4))


def _masked_phone(name: str) -> pl.Expr:
    # mask_phone for an 11-digit mobile: 3 leading and 4 trailing digits stay.
    return pl.concat_str(pl.col(name).str.slice(0, 3), pl.lit("****"), pl.col(name).str.slice(7, 4))


def _encrypted(values: pl.Series) -> pl.Series:
    return pl.Series(bulk_encrypt(values.to_list()), dtype=pl.String)


class _Writer:
    """One import's comparison and writes, stage by stage (later stages need the ids of earlier inserts)."""

    def __init__(
        self,
        snapshot: Snapshot,
        state: PortfolioState,
        *,
        actor_id: int | None,
        actor_label: str,
        now: dt.datetime,
        using: str,
        progress: ProgressCallback | None,
    ) -> None:
        self.snapshot = snapshot
        self.state = state
        self.actor_id = actor_id
        self.actor_label = actor_label
        self.now = now
        self.using = using
        self.progress = progress
        self.counts = ImportCounts()
        self.date = pl.lit(snapshot.snapshot_date, dtype=pl.Date)
        self.stamp = pl.lit(now).dt.cast_time_unit("us")

    def report(self, stage: str, done: int) -> None:
        if self.progress:
            self.progress(stage, done, self.snapshot.rows)

    def run(self) -> ImportCounts:
        borrower_ids = self.borrowers()
        self.report("borrowers", self.snapshot.rows)
        loans = self.snapshot.loans.join(borrower_ids, on="customer_id", how="left")
        case_ids = self.cases(loans)
        self.report("cases", self.snapshot.rows)
        loans = loans.join(case_ids, on="borrower_id", how="left")
        loan_ids, previous, cleared = self.loans(loans)
        self.report("loans", self.snapshot.rows)
        self.bucket_moves(loans.join(loan_ids, on="loan_id", how="left"), previous, cleared)
        self.report("history", self.snapshot.rows)
        return self.counts

    # borrowers ---------------------------------------------------------------------------------

    def borrowers(self) -> pl.DataFrame:
        people = (
            self.snapshot.loans.sort("customer_id", "loan_id")
            .unique("customer_id", keep="first", maintain_order=True)
            .select("customer_id", "name", "national_id", "phone", "address", "latitude", "longitude")
        )
        people = people.with_columns(
            pl.Series("national_id_hash", bulk_lookup_hash(people["national_id"].to_list()), dtype=pl.String),
            pl.Series("phone_hash", bulk_lookup_hash(people["phone"].to_list()), dtype=pl.String),
        )
        joined = people.join(
            self.state.borrowers, on="customer_id", how="left", suffix="_db", maintain_order="left"
        )
        new = joined.filter(pl.col("id").is_null())
        known = joined.filter(pl.col("id").is_not_null())
        id_changed = known.filter(pl.col("national_id_hash") != pl.col("national_id_hash_db"))
        phone_changed = known.filter(pl.col("phone_hash") != pl.col("phone_hash_db"))
        changed = known.filter(
            _differs(("name", "address", "latitude", "longitude", "national_id_hash", "phone_hash"))
        )
        self.counts.borrowers_created = new.height
        self.counts.borrowers_updated = changed.height
        table = _table(Borrower)
        before = _max_id(Borrower, self.using) if new.height else 0
        if new.height:

            def inserts() -> Iterator[pl.DataFrame]:
                # Encrypted chunk by chunk, so that encryption overlaps the database taking earlier rows.
                for chunk in new.iter_slices(ENCRYPT_CHUNK_ROWS):
                    yield with_model_defaults(
                        Borrower,
                        chunk.select(
                            "customer_id",
                            "name",
                            _encrypted(chunk["national_id"]).alias("national_id_encrypted"),
                            "national_id_hash",
                            _masked_national_id("national_id").alias("national_id_masked"),
                            _encrypted(chunk["phone"]).alias("phone_encrypted"),
                            "phone_hash",
                            _masked_phone("phone").alias("phone_masked"),
                            "address",
                            fen_text(pl.col("latitude"), 6).alias("latitude"),
                            fen_text(pl.col("longitude"), 6).alias("longitude"),
                            self.stamp.alias("created_at"),
                            self.stamp.alias("updated_at"),
                        ),
                    )

            bulk.bulk_insert(table=table, frame=inserts(), using=self.using)
        bulk.bulk_update(
            table=table,
            key="id",
            frame=changed.select(
                "id",
                "name",
                "address",
                fen_text(pl.col("latitude"), 6).alias("latitude"),
                fen_text(pl.col("longitude"), 6).alias("longitude"),
                self.stamp.alias("updated_at"),
            ),
            using=self.using,
        )
        for kind, rows, masked in (
            ("national_id", id_changed, _masked_national_id),
            ("phone", phone_changed, _masked_phone),
        ):
            if rows.height:
                bulk.bulk_update(
                    table=table,
                    key="id",
                    frame=rows.select(
                        "id",
                        _encrypted(rows[kind]).alias(f"{kind}_encrypted"),
                        f"{kind}_hash",
                        masked(kind).alias(f"{kind}_masked"),
                    ),
                    using=self.using,
                )
        ids = known.select("customer_id", pl.col("id").alias("borrower_id"))
        if new.height:
            created = bulk.read_frame(
                f"SELECT id, customer_id FROM {table} WHERE id > {before}",
                {"borrower_id": pl.Int64, "customer_id": pl.String},
                using=self.using,
            )
            ids = pl.concat([ids, created.select("customer_id", "borrower_id")])
        return ids

    # cases -------------------------------------------------------------------------------------

    def cases(self, loans: pl.DataFrame) -> pl.DataFrame:
        """Open, refresh and cure cases. Returns borrower_id → case_id of every borrower in the file."""
        figures = (
            loans.group_by("borrower_id")
            .agg(
                pl.col("days_past_due").max(),
                *[pl.col(name).sum() for name in MONEY_COLUMNS],
                pl.col("branch_code").sort_by("overdue_amount", "loan_id", descending=[True, False]).first(),
            )
            .with_columns(
                (pl.col("overdue_principal") + pl.col("overdue_interest") + pl.col("penalty_interest")).alias(
                    "overdue_total"
                ),
                bucket_of(pl.col("days_past_due")).alias("bucket"),
                self.date.alias("snapshot_date"),
            )
        )
        joined = figures.join(self.state.active_cases, on="borrower_id", how="left", suffix="_db")
        opened = joined.filter(pl.col("id").is_null())
        refreshed = joined.filter(pl.col("id").is_not_null() & _differs(CASE_FIGURES))
        cured = self.state.active_cases.join(
            figures.select("borrower_id"), on="borrower_id", how="anti"
        ).filter(pl.col("status").is_in([str(status) for status in CURABLE_STATUSES]))
        self.counts.cases_opened = opened.height
        self.counts.cases_updated = refreshed.height
        self.counts.cases_cured = cured.height
        table = _table(Case)
        money = [fen_text(pl.col(name)).alias(name) for name in (*MONEY_COLUMNS, "overdue_total")]
        bulk.bulk_update(
            table=table,
            key="id",
            frame=refreshed.select(
                "id",
                "snapshot_date",
                "branch_code",
                "days_past_due",
                "bucket",
                *money,
                self.stamp.alias("updated_at"),
            ),
            using=self.using,
        )
        bulk.bulk_update(
            table=table,
            key="id",
            frame=cured.select(
                "id",
                pl.lit(CaseStatus.CURED.value).alias("status"),
                pl.max_horizontal(self.date, pl.col("opened_on")).alias("closed_on"),
                self.stamp.alias("updated_at"),
            ),
            using=self.using,
        )
        before = _max_id(Case, self.using) if opened.height else 0
        if opened.height:
            inserts = opened.select(
                "borrower_id",
                pl.lit(CaseStatus.OPEN.value).alias("status"),
                self.date.alias("opened_on"),
                "snapshot_date",
                "branch_code",
                "days_past_due",
                "bucket",
                *money,
                fen_text(pl.col("overdue_total")).alias("entry_overdue_total"),
                self.stamp.alias("created_at"),
                self.stamp.alias("updated_at"),
            )
            bulk.bulk_insert(table=table, frame=with_model_defaults(Case, inserts), using=self.using)
        ids = joined.filter(pl.col("id").is_not_null()).select("borrower_id", pl.col("id").alias("case_id"))
        if opened.height:
            created = bulk.read_frame(
                f"SELECT id, borrower_id FROM {table} WHERE id > {before} AND status = '{CaseStatus.OPEN.value}'",
                {"case_id": pl.Int64, "borrower_id": pl.Int64},
                using=self.using,
            )
            ids = pl.concat([ids, created.select("borrower_id", "case_id")])
            self.status_changes(
                created.select(
                    "case_id",
                    pl.lit("").alias("from_status"),
                    pl.lit(CaseStatus.OPEN.value).alias("to_status"),
                ),
                _("overdue in the snapshot of %(date)s") % {"date": self.snapshot.snapshot_date.isoformat()},
            )
        if cured.height:
            self.status_changes(
                cured.select(
                    pl.col("id").alias("case_id"),
                    pl.col("status").alias("from_status"),
                    pl.lit(CaseStatus.CURED.value).alias("to_status"),
                ),
                _("no loan of the borrower is overdue in the snapshot of %(date)s")
                % {"date": self.snapshot.snapshot_date.isoformat()},
            )
        return ids

    def status_changes(self, changes: pl.DataFrame, reason: str) -> None:
        rows = changes.select(
            "case_id",
            "from_status",
            "to_status",
            self.stamp.alias("at"),
            self.date.alias("business_date"),
            pl.lit(self.actor_id, dtype=pl.Int64).alias("actor_id"),
            pl.lit(self.actor_label).alias("actor_label"),
            pl.lit(reason).alias("reason"),
        )
        bulk.bulk_insert(
            table=_table(CaseStatusChange),
            frame=with_model_defaults(CaseStatusChange, rows),
            using=self.using,
        )

    # loans -------------------------------------------------------------------------------------

    def loans(self, loans: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """Insert, update and clear loans. Returns loan_id → loan_pk, the stored state of the file's
        loans before this import, and the loans cleared (no longer overdue)."""
        incoming = loans.select(
            "loan_id",
            "borrower_id",
            "case_id",
            "branch_code",
            "product_code",
            "currency",
            *AMOUNT_COLUMNS,
            "first_unpaid_due_date",
            "days_past_due",
            "bucket",
            "classification",
            pl.lit(True).alias("is_overdue"),
            self.date.alias("snapshot_date"),
        )
        joined = incoming.join(self.state.loans, on="loan_id", how="left", suffix="_db")
        new = joined.filter(pl.col("id").is_null())
        changed = joined.filter(pl.col("id").is_not_null() & _differs(LOAN_FIGURES))
        cleared = self.state.loans.filter(pl.col("is_overdue")).join(
            incoming.select("loan_id"), on="loan_id", how="anti"
        )
        self.counts.loans_created = new.height
        self.counts.loans_updated = changed.height
        self.counts.loans_cleared = cleared.height
        table = _table(Loan)
        columns = [
            *[fen_text(pl.col(name)).alias(name) if name in AMOUNT_COLUMNS else name for name in LOAN_FIGURES],
            self.stamp.alias("updated_at"),
        ]
        bulk.bulk_update(table=table, key="id", frame=changed.select("id", *columns), using=self.using)
        bulk.bulk_update(
            table=table,
            key="id",
            frame=cleared.select(
                "id",
                pl.lit(False).alias("is_overdue"),
                pl.lit(0, dtype=pl.Int32).alias("days_past_due"),
                pl.lit("").alias("bucket"),
                classification_of(pl.lit(0)).alias("classification"),
                self.date.alias("snapshot_date"),
                self.stamp.alias("updated_at"),
            ),
            using=self.using,
        )
        before = _max_id(Loan, self.using) if new.height else 0
        if new.height:
            bulk.bulk_insert(
                table=table,
                frame=with_model_defaults(Loan, new.select("loan_id", *columns)),
                using=self.using,
            )
        ids = joined.filter(pl.col("id").is_not_null()).select("loan_id", pl.col("id").alias("loan_pk"))
        if new.height:
            created = bulk.read_frame(
                f"SELECT id, loan_id FROM {table} WHERE id > {before}",
                {"loan_pk": pl.Int64, "loan_id": pl.String},
                using=self.using,
            )
            ids = pl.concat([ids, created.select("loan_id", "loan_pk")])
        previous = joined.select(
            "loan_id",
            pl.when(pl.col("is_overdue_db"))
            .then(pl.col("bucket_db"))
            .otherwise(pl.lit(""))
            .alias("previous_bucket"),
        )
        return ids, previous, cleared

    # bucket history ----------------------------------------------------------------------------

    def bucket_moves(self, loans: pl.DataFrame, previous: pl.DataFrame, cleared: pl.DataFrame) -> None:
        """One move per loan whose bucket changed today; a second import of the same day corrects it."""
        staying = loans.join(previous, on="loan_id", how="left").select(
            "loan_pk",
            "case_id",
            pl.col("previous_bucket").fill_null(""),
            pl.col("bucket").alias("new_bucket"),
            "days_past_due",
            "overdue_amount",
        )
        # A loan leaving the file exits its bucket; the move keeps the amount that was overdue until then.
        leaving = cleared.select(
            pl.col("id").alias("loan_pk"),
            "case_id",
            pl.col("bucket").alias("previous_bucket"),
            pl.lit("").alias("new_bucket"),
            pl.lit(0, dtype=pl.Int32).alias("days_past_due"),
            (pl.col("overdue_principal") + pl.col("overdue_interest") + pl.col("penalty_interest")).alias(
                "overdue_amount"
            ),
        )
        moves = pl.concat([staying, leaving]).join(
            self.state.moves_today, on="loan_pk", how="left", suffix="_today"
        )
        has_move = pl.col("id").is_not_null()
        origin = pl.when(has_move).then(pl.col("from_bucket")).otherwise(pl.col("previous_bucket"))
        moves = moves.with_columns(origin.alias("from_bucket"))
        undone = moves.filter(has_move & (pl.col("from_bucket") == pl.col("new_bucket")))
        corrected = moves.filter(
            has_move
            & (pl.col("from_bucket") != pl.col("new_bucket"))
            & (
                (pl.col("to_bucket") != pl.col("new_bucket"))
                | (pl.col("days_past_due") != pl.col("days_past_due_today"))
                | (pl.col("overdue_amount") != pl.col("overdue_amount_today"))
                | pl.col("case_id").ne_missing(pl.col("case_id_today"))
            )
        )
        created = moves.filter(~has_move & (pl.col("from_bucket") != pl.col("new_bucket")))
        self.counts.bucket_moves = created.height + corrected.height + undone.height
        table = _table(BucketMove)
        bulk.bulk_delete(table=table, key="id", values=undone["id"], using=self.using)
        bulk.bulk_update(
            table=table,
            key="id",
            frame=corrected.select(
                "id",
                "case_id",
                pl.col("new_bucket").alias("to_bucket"),
                "days_past_due",
                fen_text(pl.col("overdue_amount")).alias("overdue_amount"),
            ),
            using=self.using,
        )
        bulk.bulk_insert(
            table=table,
            frame=created.select(
                pl.col("loan_pk").alias("loan_id"),
                "case_id",
                self.date.alias("snapshot_date"),
                "from_bucket",
                pl.col("new_bucket").alias("to_bucket"),
                "days_past_due",
                fen_text(pl.col("overdue_amount")).alias("overdue_amount"),
            ),
            using=self.using,
        )


def write_changes(
    snapshot: Snapshot,
    *,
    actor_id: int | None,
    actor_label: str,
    now: dt.datetime,
    using: str = "default",
    progress: ProgressCallback | None = None,
) -> ImportCounts:
    """Bring the stored portfolio to what the snapshot says, writing only what differs.

    Runs inside the caller's transaction; the caller holds the import lock.
    """
    state = read_state(snapshot.snapshot_date, using=using)
    if progress:
        progress("state", snapshot.rows, snapshot.rows)
    writer = _Writer(
        snapshot, state, actor_id=actor_id, actor_label=actor_label, now=now, using=using, progress=progress
    )
    known_loans = snapshot.loans.join(state.loans.select("loan_id"), on="loan_id", how="semi").height
    tables = [_table(model) for model in (Borrower, Case, Loan, BucketMove, CaseStatusChange)]
    with bulk.checks_deferred_for_bulk_load(
        tables, when=snapshot.rows - known_loans >= BULK_LOAD_NEW_LOANS, using=using
    ):
        return writer.run()


def lock_imports(*, using: str = "default") -> None:
    """Serialise imports: the comparison must see the state the writes will change.

    On PostgreSQL a transaction-scoped advisory lock; SQLite transactions here begin IMMEDIATE,
    which already holds the database's single write lock until commit.
    """
    if bulk.connections[using].vendor == "postgresql":
        bulk.execute(
            "SELECT pg_advisory_xact_lock(hashtext('doorstep.portfolio.snapshot_import'))", using=using
        )
