"""Collection metrics as pure functions over Polars frames. No Django here: the frames come from the
facts tables, from the raw tables (the facts builder and the benchmark's baseline) or from a test.

Money is integer fen in frames (`*_fen` columns), so sums are exact; a rate is a `Ratio` of two exact
numbers. Each function states its numerator, denominator and point-in-time rule; the glossary page shows
the same definitions (`GLOSSARY`).

The case-month frame (`case_month_facts`) has one row per case and month:
    case_id, bucket_start, bucket_end, status_end, entry_month, entry_overdue_fen, the slice columns,
    and the month's counts (contacts, right_party, calls, sms, letters, refused, notices, visits,
    visits_met, promises_made, promises_due, promises_kept, complaints) and collected_fen.
Aggregated frames (a `cases` column instead of one row per case) work with every function below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

NEW = "new"  # opened during the month: no bucket at its start
CURRENT = "current"  # still an active case, but nothing overdue at the end
CURED = "cured"
CLOSED = "closed"
WRITTEN_OFF = "written_off"
TERMINAL = (CURED, CLOSED, WRITTEN_OFF)
ACTIVE_STATUSES = ("open", "arrangement", "legal")

COUNT_COLUMNS = (
    "contacts",
    "right_party",
    "calls",
    "sms",
    "letters",
    "refused",
    "notices",
    "visits",
    "visits_met",
    "promises_made",
    "promises_due",
    "promises_kept",
    "complaints",
)
MEASURE_COLUMNS = (*COUNT_COLUMNS, "collected_fen")
SLICE_COLUMNS = ("branch_code", "team_id", "collector_id", "product_code", "strategy", "arm")


@dataclass(frozen=True)
class Ratio:
    """numerator ÷ denominator, kept as the two exact numbers; `value` is None when nothing to divide."""

    numerator: Decimal | int
    denominator: Decimal | int
    scale: int = 1  # 100 for "per 100 visits"

    @property
    def value(self) -> float | None:
        if not self.denominator:
            return None
        return float(Decimal(self.numerator) * self.scale / Decimal(self.denominator))


def fen_to_yuan(fen: int | None) -> Decimal:
    return (Decimal(fen or 0) / 100).quantize(Decimal("0.01"))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(first: dt.date) -> dt.date:
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def previous_month(first: dt.date) -> dt.date:
    return month_start(first - dt.timedelta(days=1))


def months_between(earlier: dt.date, later: dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _cases(frame: pl.DataFrame) -> pl.Expr:
    return pl.col("cases") if "cases" in frame.columns else pl.lit(1, dtype=pl.Int64)


def _count(frame: pl.DataFrame) -> pl.Expr:
    """The number of cases in a group: rows of case facts, or the `cases` column of a summary."""
    return pl.col("cases").sum() if "cases" in frame.columns else pl.len().cast(pl.Int64)


def _sum(frame: pl.DataFrame, column: str) -> int:
    if frame.height == 0:
        return 0
    return int(frame.select(pl.col(column).sum()).item() or 0)


# --- Point in time --------------------------------------------------------------------------------------


def case_states_at(
    *,
    as_of: dt.date,
    cases: pl.DataFrame,
    status_changes: pl.DataFrame,
    bucket_moves: pl.DataFrame,
    buckets: Sequence[str],
) -> pl.DataFrame:
    """Each case's status and bucket as they stood at the end of `as_of`, from the history alone.

    cases: case_id, opened_on. status_changes: case_id, business_date, seq, to_status.
    bucket_moves: case_id, loan_id, snapshot_date, seq, to_bucket.
    Rows dated after `as_of` are ignored, so the answer for a past day never changes when later data
    arrives. A case not yet opened is left out. The case's bucket is the worst bucket of its loans.
    Returns case_id, status, bucket ("" when no loan is overdue).
    """
    opened = cases.filter(pl.col("opened_on") <= as_of).select("case_id")
    status = (
        status_changes.filter(pl.col("business_date") <= as_of)
        .sort("business_date", "seq")
        .group_by("case_id")
        .agg(pl.col("to_status").last().alias("status"))
    )
    rank = {code: index + 1 for index, code in enumerate(buckets)}
    loan_buckets = (
        bucket_moves.filter(pl.col("snapshot_date") <= as_of)
        .sort("snapshot_date", "seq")
        .group_by("loan_id")
        .agg(pl.col("case_id").last(), pl.col("to_bucket").last())
        .with_columns(pl.col("to_bucket").replace_strict(rank, default=0, return_dtype=pl.Int32).alias("rank"))
        .group_by("case_id")
        .agg(pl.col("rank").max())
    )
    codes = pl.DataFrame({"rank": list(rank.values()), "bucket": list(rank)}, schema={"rank": pl.Int32, "bucket": pl.String})
    return (
        opened.join(status, on="case_id", how="left")
        .join(loan_buckets, on="case_id", how="left")
        .join(codes, on="rank", how="left")
        .select(
            "case_id",
            pl.col("status").fill_null("open"),
            pl.col("bucket").fill_null(""),
        )
    )


def roll_state(status: pl.Expr, bucket: pl.Expr) -> pl.Expr:
    """Where a case stands for roll rates: its bucket, or how it left collection."""
    return (
        pl.when(status.is_in(list(TERMINAL)))
        .then(status)
        .when(bucket == "")
        .then(pl.lit(CURRENT))
        .otherwise(bucket)
    )


def _local_date_filter(frame: pl.DataFrame, column: str, first: dt.date, last: dt.date) -> pl.DataFrame:
    return frame.filter(pl.col(column).is_between(first, last))


def case_month_facts(
    *,
    month: dt.date,
    as_of: dt.date,
    cases: pl.DataFrame,
    status_changes: pl.DataFrame,
    bucket_moves: pl.DataFrame,
    buckets: Sequence[str],
    assignments: pl.DataFrame | None = None,
    treatments: pl.DataFrame | None = None,
    contacts: pl.DataFrame | None = None,
    visits: pl.DataFrame | None = None,
    payments: pl.DataFrame | None = None,
    promises: pl.DataFrame | None = None,
    complaints: pl.DataFrame | None = None,
    messages: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per case that was in collection at some time in `month`, as known at the end of `as_of`.

    cases: case_id, opened_on, branch_code, product_code, entry_overdue_fen.
    assignments (as of `as_of`): case_id, team_id, collector_id. treatments: case_id, strategy, arm.
    Events, each counted in the month when it happened and only if recorded by `as_of`:
      contacts: case_id, on, recorded_on, channel, verdict ("allowed"/"refused"/"overridden"), right_party
      visits: case_id, notice_on (or null), done_on (or null: not carried out), met (bool)
      payments: case_id, paid_on, recorded_on, amount_fen
      promises: case_id, made_on, due_on, kept_on (or null), recorded_on
      complaints: case_id, filed_on
      messages: case_id, sent_on, channel ("sms"/"letter") — when given, SMS and letters are counted from
        the messages sent (every one costs, whatever its purpose), not from the ledger
    """
    first, last = month, min(as_of, month_end(month))
    before = month - dt.timedelta(days=1)
    end = case_states_at(
        as_of=last, cases=cases, status_changes=status_changes, bucket_moves=bucket_moves, buckets=buckets
    )
    start = case_states_at(
        as_of=before, cases=cases, status_changes=status_changes, bucket_moves=bucket_moves, buckets=buckets
    ).rename({"status": "status_start", "bucket": "bucket_start_raw"})
    frame = (
        end.join(start, on="case_id", how="left")
        # In the month: active at its start, or opened during it.
        .filter(pl.col("status_start").is_null() | pl.col("status_start").is_in(list(ACTIVE_STATUSES)))
        .join(cases, on="case_id", how="inner")
        .with_columns(
            pl.when(pl.col("status_start").is_null())
            .then(pl.lit(NEW))
            .otherwise(roll_state(pl.col("status_start"), pl.col("bucket_start_raw")))
            .alias("bucket_start"),
            roll_state(pl.col("status"), pl.col("bucket")).alias("bucket_end"),
            pl.col("status").alias("status_end"),
            pl.col("opened_on").dt.truncate("1mo").alias("entry_month"),
        )
    )
    if assignments is None:
        assignments = pl.DataFrame(schema={"case_id": pl.Int64, "team_id": pl.Int64, "collector_id": pl.Int64})
    if treatments is None:
        treatments = pl.DataFrame(schema={"case_id": pl.Int64, "strategy": pl.String, "arm": pl.String})
    frame = frame.join(assignments, on="case_id", how="left").join(treatments, on="case_id", how="left")

    counts: list[pl.DataFrame] = []
    if contacts is not None:
        seen = _local_date_filter(contacts, "on", first, last).filter(pl.col("recorded_on") <= last)
        done = pl.col("verdict") != "refused"
        # A conversation can only happen on a call or at the door; SMS and letters are counted for cost.
        spoken = done & pl.col("channel").is_in(["call", "visit"])
        counts.append(
            seen.group_by("case_id").agg(
                spoken.sum().alias("contacts"),
                (spoken & pl.col("right_party").fill_null(False)).sum().alias("right_party"),
                (done & (pl.col("channel") == "call")).sum().alias("calls"),
                (done & (pl.col("channel") == "sms")).sum().alias("sms"),
                (done & (pl.col("channel") == "letter")).sum().alias("letters"),
                (~done).sum().alias("refused"),
            )
        )
        if messages is not None:
            counts[-1] = counts[-1].drop("sms", "letters")
    if messages is not None:
        counts.append(
            _local_date_filter(messages, "sent_on", first, last)
            .group_by("case_id")
            .agg((pl.col("channel") == "sms").sum().alias("sms"), (pl.col("channel") == "letter").sum().alias("letters"))
        )
    if visits is not None:
        noticed = pl.col("notice_on").is_between(first, last)
        carried_out = pl.col("done_on").is_between(first, last)
        counts.append(
            visits.group_by("case_id").agg(
                noticed.sum().alias("notices"),
                carried_out.sum().alias("visits"),
                (carried_out & pl.col("met")).sum().alias("visits_met"),
            )
        )
    if payments is not None:
        counts.append(
            _local_date_filter(payments, "paid_on", first, last)
            .filter(pl.col("recorded_on") <= last)
            .group_by("case_id")
            .agg(pl.col("amount_fen").sum().alias("collected_fen"))
        )
    if promises is not None:
        known = promises.filter(pl.col("recorded_on") <= last)
        due = pl.col("due_on").is_between(first, last)
        counts.append(
            known.group_by("case_id").agg(
                pl.col("made_on").is_between(first, last).sum().alias("promises_made"),
                due.sum().alias("promises_due"),
                (due & pl.col("kept_on").is_not_null() & (pl.col("kept_on") <= last)).sum().alias("promises_kept"),
            )
        )
    if complaints is not None:
        counts.append(
            _local_date_filter(complaints, "filed_on", first, last)
            .group_by("case_id")
            .agg(pl.len().alias("complaints"))
        )
    for part in counts:
        frame = frame.join(part, on="case_id", how="left")
    for column in MEASURE_COLUMNS:
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(0, dtype=pl.Int64).alias(column))
    return frame.select(
        "case_id",
        pl.lit(month).alias("month"),
        pl.col("bucket_start"),
        pl.col("bucket_end"),
        pl.col("status_end"),
        pl.col("entry_month"),
        pl.col("entry_overdue_fen").cast(pl.Int64),
        pl.col("branch_code"),
        pl.col("team_id").cast(pl.Int64),
        pl.col("collector_id").cast(pl.Int64),
        pl.col("product_code"),
        pl.col("strategy").fill_null(""),
        pl.col("arm").fill_null(""),
        *[pl.col(column).fill_null(0).cast(pl.Int64) for column in MEASURE_COLUMNS],
    ).sort("case_id")


# --- Rates over a month's facts (case rows or aggregated rows with a `cases` column) ----------------------


def roll_rate_matrix(facts: pl.DataFrame, buckets: Sequence[str]) -> pl.DataFrame:
    """Month-over-month roll rates: of the cases in bucket i at the start of the month, the share in
    state j at its end (a bucket, current, cured, closed or written off).

    numerator: cases from i to j; denominator: cases in i at the start. Cases opened during the month
    ("new") have no starting bucket and are left out. Returns bucket_start, bucket_end, cases, total, rate.
    """
    rows = (
        facts.filter(pl.col("bucket_start").is_in(list(buckets)))
        .group_by("bucket_start", "bucket_end")
        .agg(_count(facts).alias("cases"))
    )
    totals = rows.group_by("bucket_start").agg(pl.col("cases").sum().alias("total"))
    order = {code: index for index, code in enumerate([*buckets, CURRENT, *TERMINAL])}
    return (
        rows.join(totals, on="bucket_start")
        .with_columns((pl.col("cases") / pl.col("total")).alias("rate"))
        .with_columns(
            pl.col("bucket_start").replace_strict(order, default=99).alias("_from"),
            pl.col("bucket_end").replace_strict(order, default=99).alias("_to"),
        )
        .sort("_from", "_to")
        .drop("_from", "_to")
    )


def roll_columns(buckets: Sequence[str]) -> list[str]:
    return [*buckets, CURRENT, *TERMINAL]


def flow_rates(facts: pl.DataFrame, buckets: Sequence[str]) -> pl.DataFrame:
    """Forward flow per bucket and the flow rate to write-off.

    forward(i) = cases that moved from bucket i to a worse bucket or were written off ÷ cases in i at
    the start (for the last bucket: written off ÷ cases in it). to_write_off(i) = the product of the
    forward rates from i to the last bucket: the share of bucket i expected to reach write-off if this
    month's flows held. Returns bucket, cases, forward_cases, forward, to_write_off (None when a step
    has no cases).
    """
    matrix = roll_rate_matrix(facts, buckets)
    rank = {code: index for index, code in enumerate(buckets)}
    result = []
    for index, code in enumerate(buckets):
        rows = matrix.filter(pl.col("bucket_start") == code)
        total = _sum(rows, "cases")
        worse = [WRITTEN_OFF, *[c for c in buckets if rank[c] > index]]
        forward_cases = _sum(rows.filter(pl.col("bucket_end").is_in(worse)), "cases")
        result.append((code, total, forward_cases, forward_cases / total if total else None))
    to_write_off: list[float | None] = []
    product: float | None = 1.0
    for _code, _total, _forward_cases, forward in reversed(result):
        product = None if product is None or forward is None else product * forward
        to_write_off.append(product)
    to_write_off.reverse()
    return pl.DataFrame(
        {
            "bucket": [row[0] for row in result],
            "cases": [row[1] for row in result],
            "forward_cases": [row[2] for row in result],
            "forward": [row[3] for row in result],
            "to_write_off": to_write_off,
        },
        schema={"bucket": pl.String, "cases": pl.Int64, "forward_cases": pl.Int64, "forward": pl.Float64,
                "to_write_off": pl.Float64},
    )


def cure_rate(facts: pl.DataFrame, buckets: Sequence[str]) -> Ratio:
    """Cases in a bucket at the start of the month and cured by its end ÷ cases in a bucket at the start."""
    started = facts.filter(pl.col("bucket_start").is_in(list(buckets))).with_columns(_cases(facts).alias("_n"))
    return Ratio(_sum(started.filter(pl.col("bucket_end") == CURED), "_n"), _sum(started, "_n"))


def promise_kept_rate(facts: pl.DataFrame) -> Ratio:
    """Promises due in the period and kept by their due date (as known at the as-of date) ÷ promises due."""
    return Ratio(_sum(facts, "promises_kept"), _sum(facts, "promises_due"))


def right_party_contact_rate(facts: pl.DataFrame) -> Ratio:
    """Calls and visits carried out in which the borrower was reached ÷ calls and visits carried out
    (attempts the compliance gate refused are not carried out and not counted)."""
    return Ratio(_sum(facts, "right_party"), _sum(facts, "contacts"))


def visit_contact_rate(facts: pl.DataFrame) -> Ratio:
    """Visits carried out at which the collector met the borrower ÷ visits carried out."""
    return Ratio(_sum(facts, "visits_met"), _sum(facts, "visits"))


def complaints_per_100_visits(facts: pl.DataFrame) -> Ratio:
    """Complaints filed in the period × 100 ÷ visits carried out in the period."""
    return Ratio(_sum(facts, "complaints"), _sum(facts, "visits"), scale=100)


def collection_cost_fen(facts: pl.DataFrame, unit_costs: Mapping[str, Decimal]) -> int:
    """The cost of the period's work: visits, calls, SMS and letters at their unit costs, in fen."""
    total = Decimal(0)
    for column, key in (("visits", "visit"), ("calls", "call"), ("sms", "sms"), ("letters", "letter")):
        total += Decimal(_sum(facts, column)) * Decimal(unit_costs.get(key, 0)) * 100
    return int(total.to_integral_value())


def cost_to_collect(facts: pl.DataFrame, unit_costs: Mapping[str, Decimal]) -> Ratio:
    """Cost of the period's work (unit cost × visits, calls, SMS, letters) ÷ amount collected in the period."""
    return Ratio(collection_cost_fen(facts, unit_costs), _sum(facts, "collected_fen"))


def recovery_by_entry_month(entries: pl.DataFrame) -> pl.DataFrame:
    """Recovery curves: for the cases that entered collection in month E, the amount collected from
    them from entry to the end of month E+k ÷ their overdue amount at entry.

    entries: entry_month, month, entry_overdue_fen, collected_fen — one row per case month or summed
    by (entry_month, month); the denominator is read from the rows of the entry month itself (every
    case has a row in the month it entered). Returns entry_month, months_since_entry, month,
    collected_fen (cumulative), entry_overdue_fen, rate.
    """
    if entries.height == 0:
        return pl.DataFrame(
            schema={"entry_month": pl.Date, "months_since_entry": pl.Int64, "month": pl.Date,
                    "collected_fen": pl.Int64, "entry_overdue_fen": pl.Int64, "rate": pl.Float64}
        )
    denominators = (
        entries.filter(pl.col("month") == pl.col("entry_month"))
        .group_by("entry_month")
        .agg(pl.col("entry_overdue_fen").sum())
    )
    by_month = (
        entries.filter(pl.col("month") >= pl.col("entry_month"))
        .group_by("entry_month", "month")
        .agg(pl.col("collected_fen").sum())
        .sort("entry_month", "month")
        .with_columns(pl.col("collected_fen").cum_sum().over("entry_month"))
    )
    return (
        by_month.join(denominators, on="entry_month", how="inner")
        .with_columns(
            (
                (pl.col("month").dt.year() - pl.col("entry_month").dt.year()) * 12
                + pl.col("month").dt.month().cast(pl.Int64)
                - pl.col("entry_month").dt.month().cast(pl.Int64)
            ).cast(pl.Int64).alias("months_since_entry"),
            pl.when(pl.col("entry_overdue_fen") > 0)
            .then(pl.col("collected_fen") / pl.col("entry_overdue_fen"))
            .otherwise(None)
            .alias("rate"),
        )
        .select("entry_month", "months_since_entry", "month", "collected_fen", "entry_overdue_fen", "rate")
        .sort("entry_month", "months_since_entry")
    )


def funnel(facts: pl.DataFrame) -> list[tuple[str, int]]:
    """Cases in the period that got a visit notice, a visit, a promise, and a payment (each stage
    counts cases, not events; a stage need not follow the one before)."""
    if "noticed_cases" in facts.columns:
        return [
            ("notice", _sum(facts, "noticed_cases")),
            ("visit", _sum(facts, "visited_cases")),
            ("promise", _sum(facts, "promised_cases")),
            ("payment", _sum(facts, "paid_cases")),
        ]
    return [
        ("notice", int((facts["notices"] > 0).sum()) if facts.height else 0),
        ("visit", int((facts["visits"] > 0).sum()) if facts.height else 0),
        ("promise", int((facts["promises_made"] > 0).sum()) if facts.height else 0),
        ("payment", int((facts["collected_fen"] > 0).sum()) if facts.height else 0),
    ]


def collector_productivity(facts: pl.DataFrame) -> pl.DataFrame:
    """Per collector: cases held at the end, visits, visits that met the borrower, contacts, right-party
    contacts, promises made, amount collected, and collected per visit (fen)."""
    rows = facts.filter(pl.col("collector_id").is_not_null())
    return (
        rows.group_by("collector_id")
        .agg(
            _count(rows).alias("cases"),
            *[pl.col(c).sum() for c in ("visits", "visits_met", "contacts", "right_party", "promises_made",
                                         "promises_kept", "promises_due", "complaints", "collected_fen")],
        )
        .with_columns(
            pl.when(pl.col("visits") > 0).then(pl.col("collected_fen") // pl.col("visits")).otherwise(None)
            .alias("collected_per_visit_fen")
        )
        .sort("collected_fen", "collector_id", descending=[True, False])
    )


def kpis(facts: pl.DataFrame, buckets: Sequence[str], unit_costs: Mapping[str, Decimal]) -> dict[str, Ratio]:
    """The headline rates of one period (a month's facts, or their summaries)."""
    entering = facts.filter(pl.col("entry_month") == pl.col("month")) if "entry_month" in facts.columns else None
    result = {
        "cure_rate": cure_rate(facts, buckets),
        "promise_kept_rate": promise_kept_rate(facts),
        "right_party_contact_rate": right_party_contact_rate(facts),
        "visit_contact_rate": visit_contact_rate(facts),
        "cost_to_collect": cost_to_collect(facts, unit_costs),
        "complaints_per_100_visits": complaints_per_100_visits(facts),
    }
    if entering is not None:
        result["entered_overdue_fen"] = Ratio(_sum(entering, "entry_overdue_fen"), 1)
    return result


def totals(facts: pl.DataFrame) -> dict[str, int]:
    """Every measure summed, and the number of cases, in one pass."""
    if facts.height == 0:
        return {column: 0 for column in (*MEASURE_COLUMNS, "cases")}
    present = [column for column in MEASURE_COLUMNS if column in facts.columns]
    row = facts.select(*[pl.col(column).sum() for column in present], _count(facts).alias("cases")).row(0, named=True)
    return {column: int(row.get(column) or 0) for column in (*MEASURE_COLUMNS, "cases")}


def rates_by_month(facts: pl.DataFrame, buckets: Sequence[str]) -> list[dict[str, object]]:
    """The trend: per month, the cure, right-party contact, visit contact and promise-kept rates and the
    amount collected, with the same numerators and denominators as the functions above, in one pass."""
    if facts.height == 0:
        return []
    started = pl.col("bucket_start").is_in(list(buckets))
    weight = _cases(facts)
    grouped = (
        facts.group_by("month")
        .agg(
            (started.cast(pl.Int64) * weight).sum().alias("in_bucket"),
            ((started & (pl.col("bucket_end") == CURED)).cast(pl.Int64) * weight).sum().alias("cured"),
            *[pl.col(column).sum() for column in MEASURE_COLUMNS],
        )
        .sort("month")
    )
    rows = []
    for row in grouped.to_dicts():
        rows.append(
            {
                "month": row["month"],
                "cure_rate": Ratio(row["cured"], row["in_bucket"]).value,
                "right_party_contact_rate": Ratio(row["right_party"], row["contacts"]).value,
                "visit_contact_rate": Ratio(row["visits_met"], row["visits"]).value,
                "promise_kept_rate": Ratio(row["promises_kept"], row["promises_due"]).value,
                "collected_fen": int(row["collected_fen"] or 0),
                "totals": {**{c: int(row[c] or 0) for c in MEASURE_COLUMNS}},
            }
        )
    return rows


def slice_summary(facts: pl.DataFrame, by: str, buckets: Sequence[str]) -> pl.DataFrame:
    """The headline figures per value of one slice column (branch, team, product, bucket, strategy, arm)."""
    column = "bucket_start" if by == "bucket" else by
    groups = facts.group_by(column).agg(
        _count(facts).alias("cases"),
        pl.col("bucket_start").is_in(list(buckets)).mul(_cases(facts)).sum().alias("in_bucket"),
        (pl.col("bucket_start").is_in(list(buckets)) & (pl.col("bucket_end") == CURED)).mul(_cases(facts)).sum()
        .alias("cured"),
        *[pl.col(c).sum() for c in MEASURE_COLUMNS],
    )
    return groups.rename({column: "key"}).sort("key", nulls_last=True)
