"""Features as of a date: only what was known then."""

from __future__ import annotations

import datetime as dt

import polars as pl

from doorstep.scoring.features import FEATURES, Events, empty_events, feature_panel, history_panel
from doorstep.scoring.simulation import SimulationSettings, simulate

AS_OF = dt.date(2026, 5, 1)


def one_case(**facts: object) -> pl.DataFrame:
    row = {
        "case_id": 1,
        "as_of": AS_OF,
        "days_past_due": 40,
        "bucket": "M2",
        "overdue_total": 300_000,
        "outstanding_principal": 2_000_000,
        "product": "XFD",
        "opened_on": dt.date(2024, 5, 1),
        "borrower_age": 35,
    }
    row.update(facts)
    return pl.DataFrame([row])


def with_payments(*payments: tuple[dt.date, int]) -> Events:
    events = empty_events()
    frame = pl.DataFrame(
        {"case_id": [1] * len(payments), "paid_on": [p[0] for p in payments], "amount": [p[1] for p in payments]},
        schema={"case_id": pl.Int64, "paid_on": pl.Date, "amount": pl.Int64},
    )
    return Events(events.bucket_moves, events.contacts, events.visits, events.promises, frame)


def test_a_payment_after_the_as_of_date_changes_nothing() -> None:
    before = feature_panel(one_case(), with_payments((dt.date(2026, 4, 10), 50_000)))
    later = feature_panel(
        one_case(), with_payments((dt.date(2026, 4, 10), 50_000), (AS_OF, 90_000), (dt.date(2026, 5, 20), 300_000))
    )
    assert before.equals(later)


def test_a_payment_before_the_as_of_date_counts() -> None:
    none = feature_panel(one_case(), with_payments())
    paid = feature_panel(one_case(), with_payments((dt.date(2026, 4, 10), 50_000)))
    assert none["payments_90d"][0] == 0 and paid["payments_90d"][0] == 1
    assert paid["days_since_last_payment"][0] == 21
    assert none["days_since_last_payment"][0] is None


def test_a_promise_kept_only_after_the_as_of_date_is_not_yet_known_as_kept() -> None:
    events = empty_events()
    promise = pl.DataFrame(
        {"case_id": [1], "made_on": [dt.date(2026, 4, 20)], "due_on": [dt.date(2026, 4, 30)], "kept_on": [dt.date(2026, 4, 30)]}
    )
    known = feature_panel(one_case(), Events(events.bucket_moves, events.contacts, events.visits, promise, events.payments))
    assert known["promises_kept_90d"][0] == 1
    late_news = promise.with_columns(pl.lit(dt.date(2026, 5, 3)).alias("kept_on"))
    unknown = feature_panel(one_case(), Events(events.bucket_moves, events.contacts, events.visits, late_news, events.payments))
    assert unknown["promises_kept_90d"][0] == 0 and unknown["promises_broken_90d"][0] == 1


def test_the_simulated_history_and_a_live_case_get_the_same_columns() -> None:
    cases, events = history_panel(simulate(SimulationSettings(accounts=200, months=3, seed=2)))
    simulated = feature_panel(cases, events)
    live = feature_panel(one_case(), empty_events())
    assert simulated.columns == live.columns == ["case_id", "as_of", *FEATURES]
    assert simulated.schema == live.schema
