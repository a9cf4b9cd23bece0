"""Months of portfolio behaviour, simulated, for the demo's models and for measuring visit targeting.

Pure and seeded (numpy and Polars, no Django). Each borrower has hidden traits: ``ability`` (can pay),
``willingness`` (wants to), ``phone_reach`` (answers the phone) and ``visit_sensitivity``. A field visit
changes the log-odds of paying that month by ``visit_effect``, which differs from borrower to borrower:
it is large for willing borrowers who cannot be reached by phone, small for those who would pay anyway,
and negative for hostile ones. The strategy visits every case from bucket M2 on, except a randomised
no-visit hold-out, and calls the others.

The history comes out as the plain tables Doorstep records (cases by month, bucket moves, contacts,
visits, promises, payments), so ``features.feature_panel`` reads it exactly as it reads the live
portfolio. Money is integer fen throughout.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from numpy.typing import NDArray

PRODUCTS = ("XFD", "XYK_FQ", "JYD")
PRODUCT_SHARES = (0.6, 0.25, 0.15)
BUCKET_EDGES = ((30, "M1"), (60, "M2"), (90, "M3"))
WRITE_OFF_DAYS = 180
HORIZON_DAYS = 30

ATTITUDES = ("hostile", "evasive", "neutral", "cooperative")
WILLINGNESS = ("none", "low", "partial", "high")
REASONS = ("income_loss", "illness", "business", "overindebted", "family", "forgot", "unwilling")


@dataclass(frozen=True)
class SimulationSettings:
    accounts: int = 3000
    months: int = 12
    seed: int = 2026
    start: dt.date = dt.date(2025, 11, 1)
    holdout_share: float = 0.2
    # Cases from this many days past due on are visited (the rule), apart from the hold-out.
    visit_from_days: int = 31


@dataclass
class History:
    """The simulated tables. ``cases`` holds one row per open case and month with the outcome."""

    settings: SimulationSettings
    cases: pl.DataFrame
    bucket_moves: pl.DataFrame
    contacts: pl.DataFrame
    visits: pl.DataFrame
    promises: pl.DataFrame
    payments: pl.DataFrame
    traits: pl.DataFrame
    extra: dict[str, object] = field(default_factory=dict)


def bucket_of(days_past_due: NDArray[np.int64]) -> NDArray[np.str_]:
    labels = np.full(days_past_due.shape, "M4+", dtype=object)
    for upper, label in reversed(BUCKET_EDGES):
        labels[days_past_due <= upper] = label
    labels[days_past_due <= 0] = ""
    return labels.astype(str)


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-x))


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, 1)


@dataclass
class Borrowers:
    ability: NDArray[np.float64]
    willingness: NDArray[np.float64]
    phone_reach: NDArray[np.float64]
    visit_sensitivity: NDArray[np.float64]
    visit_effect: NDArray[np.float64]
    product: NDArray[np.int64]
    age: NDArray[np.int64]
    opened_on: NDArray[np.int64]  # days since 1970
    instalment: NDArray[np.int64]  # fen


def draw_borrowers(accounts: int, rng: np.random.Generator, start: dt.date) -> Borrowers:
    ability = rng.normal(0, 1, accounts)
    willingness = 0.4 * ability + rng.normal(0, 0.9, accounts)
    phone_reach = rng.normal(0, 1, accounts)
    age = np.clip(rng.normal(40, 10, accounts), 21, 70).astype(np.int64)
    # Visits matter most to the willing who do not answer the phone; older borrowers are slightly harder
    # to reach by phone, which makes the effect partly visible in what Doorstep records.
    visit_sensitivity = -0.8 * phone_reach + 0.6 * willingness + 0.02 * (age - 40) + rng.normal(0, 0.5, accounts)
    visit_effect = 1.9 * _sigmoid(1.6 * visit_sensitivity) - 0.5
    product = rng.choice(len(PRODUCTS), size=accounts, p=PRODUCT_SHARES)
    principal_yuan = np.exp(rng.normal(np.log([50_000, 20_000, 120_000])[product], 0.6))
    instalment = (principal_yuan / np.array([24, 12, 36])[product] * 100).astype(np.int64)
    start_ordinal = (start - dt.date(1970, 1, 1)).days
    opened_on = start_ordinal - rng.integers(60, 1500, accounts)
    return Borrowers(ability, willingness, phone_reach, visit_sensitivity, visit_effect, product, age, opened_on, instalment)


def payment_log_odds(
    borrowers: Borrowers,
    days_past_due: NDArray[np.int64],
    calls_reached: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Log-odds of paying within the month without a visit."""
    return (
        0.0
        + 1.0 * borrowers.ability
        + 0.7 * borrowers.willingness
        - 0.009 * np.minimum(days_past_due, 200)
        + 0.25 * np.minimum(calls_reached, 2)
    )


def simulate(settings: SimulationSettings | None = None) -> History:
    settings = settings or SimulationSettings()
    rng = np.random.default_rng(settings.seed)
    n = settings.accounts
    people = draw_borrowers(n, rng, settings.start)
    case_id = np.arange(1, n + 1, dtype=np.int64)

    days_past_due = rng.choice([5, 12, 20, 28, 40, 55, 75, 100, 130], size=n, p=[0.2, 0.18, 0.15, 0.12, 0.12, 0.08, 0.07, 0.05, 0.03]).astype(np.int64)
    overdue = (people.instalment * (1 + days_past_due // 30)).astype(np.int64)
    outstanding = (people.instalment * rng.integers(6, 30, n)).astype(np.int64)
    written_off = np.zeros(n, dtype=bool)

    frames: dict[str, list[pl.DataFrame]] = {k: [] for k in ("cases", "moves", "contacts", "visits", "promises", "payments")}
    epoch = dt.date(1970, 1, 1)
    for month in range(settings.months):
        as_of = _add_months(settings.start, month)
        day0 = (as_of - epoch).days
        # New arrears among current borrowers, more often for those less able to pay.
        current = (days_past_due <= 0) & ~written_off
        falls = current & (rng.uniform(0, 1, n) < _sigmoid(-2.6 - 0.8 * people.ability))
        days_past_due[falls] = rng.integers(1, 26, int(falls.sum()))
        overdue[falls] = people.instalment[falls]
        open_ = (days_past_due > 0) & ~written_off
        rows = np.flatnonzero(open_)
        if rows.size == 0:
            continue
        dpd = days_past_due[rows]

        # Calls to every open case; the borrower is reached more often when they answer the phone.
        calls = rng.integers(1, 4, rows.size)
        reach_p = _sigmoid(0.2 + 1.2 * people.phone_reach[rows])
        reached = rng.binomial(calls, reach_p)
        # Visits: the rule visits from M2 on; a random share is held out.
        eligible = dpd >= settings.visit_from_days
        held_out = eligible & (rng.uniform(0, 1, rows.size) < settings.holdout_share)
        visited = eligible & ~held_out

        base = payment_log_odds(_take(people, rows), dpd, reached)
        p_no_visit = _sigmoid(base)
        p_visit = _sigmoid(base + people.visit_effect[rows])
        p = np.where(visited, p_visit, p_no_visit)
        paid = rng.uniform(0, 1, rows.size) < p
        full = paid & (rng.uniform(0, 1, rows.size) < 0.65)
        share = np.where(full, 1.0, rng.uniform(0.3, 0.7, rows.size))
        amount = np.where(paid, (overdue[rows] * share).astype(np.int64), 0)
        amount = np.maximum(amount, np.where(paid, 1, 0))
        pay_day = day0 + rng.integers(1, HORIZON_DAYS, rows.size)

        frames["cases"].append(
            pl.DataFrame(
                {
                    "case_id": case_id[rows],
                    "as_of": np.full(rows.size, day0, dtype=np.int32),
                    "days_past_due": dpd,
                    "bucket": bucket_of(dpd),
                    "overdue_total": overdue[rows],
                    "outstanding_principal": outstanding[rows],
                    "product": np.asarray(PRODUCTS)[people.product[rows]],
                    "opened_on": people.opened_on[rows].astype(np.int32),
                    "borrower_age": people.age[rows],
                    "visit_eligible": eligible,
                    "held_out": held_out,
                    "visited": visited,
                    "paid_30d": paid.astype(np.int8),
                    "recovered": amount,
                    "p_no_visit": p_no_visit,
                    "p_visit": p_visit,
                }
            ).with_columns(pl.col("as_of").cast(pl.Date), pl.col("opened_on").cast(pl.Date))
        )
        # The ledger: each call at a day of the month; an answered call ends with an outcome.
        call_rows = np.repeat(np.arange(rows.size), calls)
        call_index = np.concatenate([np.arange(c) for c in calls]) if calls.size else np.array([], dtype=np.int64)
        call_reached = call_index < reached[call_rows]
        refuses = rng.uniform(0, 1, call_rows.size) < _sigmoid(-1.2 - 1.3 * people.willingness[rows][call_rows])
        promises_now = call_reached & ~refuses & (rng.uniform(0, 1, call_rows.size) < 0.5)
        outcome = np.where(~call_reached, "no_answer", np.where(refuses, "refused", np.where(promises_now, "promise_to_pay", "spoke")))
        call_day = day0 + rng.integers(0, HORIZON_DAYS, call_rows.size)
        frames["contacts"].append(
            pl.DataFrame(
                {
                    "case_id": case_id[rows][call_rows],
                    "at": call_day.astype(np.int32),
                    "channel": np.full(call_rows.size, "call"),
                    "right_party": call_reached,
                    "outcome_code": outcome,
                }
            ).with_columns(pl.col("at").cast(pl.Date))
        )
        # Promises made on a call: kept when the month's payment came by the due date.
        promised = call_rows[promises_now]
        promise_day = call_day[promises_now]
        due = promise_day + 7
        kept = paid[promised] & (pay_day[promised] <= due)
        frames["promises"].append(
            pl.DataFrame(
                {
                    "case_id": case_id[rows][promised],
                    "made_on": promise_day.astype(np.int32),
                    "due_on": due.astype(np.int32),
                    "kept_on": np.where(kept, pay_day[promised], -1).astype(np.int32),
                }
            )
            .with_columns(pl.when(pl.col("kept_on") >= 0).then(pl.col("kept_on")).alias("kept_on"))
            .with_columns(pl.col("made_on").cast(pl.Date), pl.col("due_on").cast(pl.Date), pl.col("kept_on").cast(pl.Date))
        )
        # Visits: what the collector saw is a noisy view of the hidden traits.
        v = np.flatnonzero(visited)
        if v.size:
            met = rng.uniform(0, 1, v.size) < 0.8
            seen_will = people.willingness[rows][v] + rng.normal(0, 0.6, v.size)
            seen_att = 0.7 * people.willingness[rows][v] + 0.3 * people.ability[rows][v] + rng.normal(0, 0.6, v.size)
            willingness_code = np.digitize(seen_will, [-0.9, -0.1, 0.7])
            attitude_code = np.digitize(seen_att, [-1.0, -0.3, 0.5])
            reason = np.where(
                people.willingness[rows][v] < -0.8,
                len(REASONS) - 1,
                np.where(people.ability[rows][v] < -0.5, rng.integers(0, 4, v.size), rng.integers(0, 6, v.size)),
            )
            result = np.where(~met, "not_home", np.where(paid[v], "paid", np.where(willingness_code >= 2, "promise", "refused")))
            frames["visits"].append(
                pl.DataFrame(
                    {
                        "case_id": case_id[rows][v],
                        "at": (day0 + rng.integers(0, 20, v.size)).astype(np.int32),
                        "attitude": np.where(met, np.asarray(ATTITUDES)[attitude_code], ""),
                        "willingness": np.where(met, np.asarray(WILLINGNESS)[willingness_code], ""),
                        "delinquency_reason": np.where(met, np.asarray(REASONS)[reason], ""),
                        "result": result,
                    }
                ).with_columns(pl.col("at").cast(pl.Date))
            )
        frames["payments"].append(
            pl.DataFrame(
                {"case_id": case_id[rows][paid], "paid_on": pay_day[paid].astype(np.int32), "amount": amount[paid]}
            ).with_columns(pl.col("paid_on").cast(pl.Date))
        )

        # The month passes.
        before = bucket_of(days_past_due)
        idx_full = rows[full]
        days_past_due[idx_full] = 0
        overdue[idx_full] = 0
        partial = rows[paid & ~full]
        overdue[partial] -= amount[paid & ~full]
        days_past_due[partial] = np.maximum(days_past_due[partial] - 15, 1)
        unpaid = rows[~paid]
        days_past_due[unpaid] += 30
        overdue[unpaid] += people.instalment[unpaid]
        outstanding[rows] = np.maximum(outstanding[rows] - people.instalment[rows] // 2, 0)
        written_off |= days_past_due > WRITE_OFF_DAYS
        after = bucket_of(days_past_due)
        moved = np.flatnonzero(before != after)
        next_day = (_add_months(as_of, 1) - epoch).days
        frames["moves"].append(
            pl.DataFrame(
                {
                    "case_id": case_id[moved],
                    "snapshot_date": np.full(moved.size, next_day, dtype=np.int32),
                    "from_bucket": before[moved],
                    "to_bucket": after[moved],
                    "days_past_due": days_past_due[moved],
                    "overdue_amount": overdue[moved],
                }
            ).with_columns(pl.col("snapshot_date").cast(pl.Date))
        )

    traits = pl.DataFrame(
        {
            "case_id": case_id,
            "ability": people.ability,
            "willingness": people.willingness,
            "phone_reach": people.phone_reach,
            "visit_effect": people.visit_effect,
        }
    )
    return History(
        settings=settings,
        cases=pl.concat(frames["cases"]),
        bucket_moves=pl.concat(frames["moves"]),
        contacts=pl.concat(frames["contacts"]),
        visits=pl.concat(frames["visits"]) if frames["visits"] else empty_visits(),
        promises=pl.concat(frames["promises"]),
        payments=pl.concat(frames["payments"]),
        traits=traits,
    )


def empty_visits() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "case_id": pl.Int64,
            "at": pl.Date,
            "attitude": pl.String,
            "willingness": pl.String,
            "delinquency_reason": pl.String,
            "result": pl.String,
        }
    )


def _take(people: Borrowers, rows: NDArray[np.intp]) -> Borrowers:
    return Borrowers(**{name: getattr(people, name)[rows] for name in Borrowers.__dataclass_fields__})


def average_visit_effect(history: History) -> float:
    """The true average change in the chance of paying that a visit makes, over the visit-eligible rows."""
    eligible = history.cases.filter(pl.col("visit_eligible"))
    return float((eligible["p_visit"] - eligible["p_no_visit"]).mean())  # type: ignore[operator]


def holdout_visit_effect(history: History) -> tuple[float, float]:
    """The visit effect as the hold-out measures it (visited rate minus held-out rate), with its standard error."""
    eligible = history.cases.filter(pl.col("visit_eligible"))
    visited = eligible.filter(pl.col("visited"))["paid_30d"].to_numpy()
    held = eligible.filter(pl.col("held_out"))["paid_30d"].to_numpy()
    effect = float(visited.mean() - held.mean())
    error = float(np.sqrt(visited.var() / visited.size + held.var() / held.size))
    return effect, error
