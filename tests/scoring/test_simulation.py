"""The simulated history: reproducible, with real signal and a true visit effect the hold-out can see."""

from __future__ import annotations

import polars as pl

from doorstep.scoring.simulation import (
    SimulationSettings,
    average_visit_effect,
    holdout_visit_effect,
    simulate,
)


def test_the_same_seed_gives_the_same_history_and_another_seed_does_not() -> None:
    first = simulate(SimulationSettings(accounts=400, months=6, seed=11))
    again = simulate(SimulationSettings(accounts=400, months=6, seed=11))
    other = simulate(SimulationSettings(accounts=400, months=6, seed=12))
    for name in ("cases", "contacts", "visits", "promises", "payments", "bucket_moves"):
        assert getattr(first, name).equals(getattr(again, name)), name
    assert not first.cases.equals(other.cases)


def test_visits_raise_payment_on_average_and_the_randomised_hold_out_measures_it() -> None:
    history = simulate(SimulationSettings(accounts=3000, months=12, seed=5))
    assert average_visit_effect(history) > 0.02
    measured, error = holdout_visit_effect(history)
    assert measured > 0
    assert abs(measured - average_visit_effect(history)) < 3 * error


def test_the_effect_differs_between_borrowers_and_some_are_put_off_by_a_visit() -> None:
    traits = simulate(SimulationSettings(accounts=2000, months=2, seed=3)).traits
    assert traits["visit_effect"].min() < 0 < traits["visit_effect"].max()
    assert traits["visit_effect"].std() > 0.3


def test_later_buckets_pay_less_often() -> None:
    cases = simulate(SimulationSettings(accounts=2000, months=8, seed=9)).cases
    rates = dict(cases.group_by("bucket").agg(pl.col("paid_30d").mean()).iter_rows())
    assert rates["M1"] > rates["M2"] > rates["M3"] > rates["M4+"]


def test_only_the_rule_eligible_are_visited_and_the_hold_out_is_never_visited() -> None:
    cases = simulate(SimulationSettings(accounts=800, months=4, seed=1)).cases
    assert cases.filter(pl.col("visited") & ~pl.col("visit_eligible")).height == 0
    assert cases.filter(pl.col("visited") & pl.col("held_out")).height == 0
    share = cases.filter(pl.col("visit_eligible"))["held_out"].mean()
    assert 0.15 < share < 0.25  # type: ignore[operator]
