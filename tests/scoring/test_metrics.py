import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorstep.scoring.maths.metrics import (
    MetricError,
    calibration_bins,
    gini,
    ks_statistic,
    performance_by_segment,
    psi,
    psi_against,
    psi_reference,
    psi_status,
    roc_auc,
    score_bands,
    score_distribution,
)

# Two payers and two non-payers; one payer scores below one non-payer.
OUTCOME = [0, 0, 1, 1]
SCORE = [0.1, 0.4, 0.35, 0.8]


def test_auc_and_gini_on_a_table_counted_by_hand():
    # Pairs (payer, non-payer): 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes -> 3 of 4.
    assert roc_auc(OUTCOME, SCORE) == pytest.approx(0.75)
    assert gini(OUTCOME, SCORE) == pytest.approx(0.5)


def test_tied_scores_count_one_half():
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == pytest.approx(0.875)


@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 5)), min_size=2, max_size=30).filter(
        lambda rows: 0 < sum(y for y, _ in rows) < len(rows)
    )
)
def test_auc_agrees_with_counting_every_pair(rows):
    payers = [s for y, s in rows if y == 1]
    others = [s for y, s in rows if y == 0]
    wins = sum((p > o) + 0.5 * (p == o) for p in payers for o in others)
    assert roc_auc([y for y, _ in rows], [s for _, s in rows]) == pytest.approx(wins / (len(payers) * len(others)))


def test_ks_on_a_table_counted_by_hand():
    # Cumulative payers 0, .5, .5, 1 against non-payers .5, .5, 1, 1 -> largest gap 0.5.
    assert ks_statistic(OUTCOME, SCORE) == pytest.approx(0.5)
    assert ks_statistic([0, 0, 1, 1], [1, 2, 3, 4]) == pytest.approx(1.0)


def test_ks_never_splits_tied_scores():
    assert ks_statistic([0, 1], [0.3, 0.3]) == 0.0


@pytest.mark.parametrize(
    ("outcome", "score"),
    [([1, 1, 1], [0.1, 0.2, 0.3]), ([0, 1], [0.1]), ([0, 2], [0.1, 0.2]), ([0, 1], [0.1, math.nan])],
)
def test_metrics_refuse_bad_input(outcome, score):
    with pytest.raises(MetricError):
        roc_auc(outcome, score)


def test_psi_computed_by_hand():
    # Reference halves at 2.5; the new population has 80% below instead of 50%.
    result = psi([1, 2, 3, 4], [1, 1, 1, 1, 4], bins=2)
    expected = 0.3 * math.log(0.8 / 0.5) + (-0.3) * math.log(0.2 / 0.5)
    assert result.value == pytest.approx(expected)
    assert result.actual_shares == pytest.approx((0.8, 0.2))
    assert result.status == "alert"


def test_psi_of_the_same_population_is_zero_and_stable():
    rng = np.random.default_rng(1)
    scores = rng.normal(0.6, 0.15, 5000)
    result = psi(scores, scores.copy())
    assert result.value == pytest.approx(0.0, abs=1e-12)
    assert result.status == "stable"


def test_psi_alert_fires_on_a_shifted_population():
    rng = np.random.default_rng(2)
    training = rng.normal(0.6, 0.15, 20_000)
    reference = psi_reference(training)
    assert psi_against(reference, rng.normal(0.6, 0.15, 20_000)).status == "stable"
    assert psi_against(reference, rng.normal(0.66, 0.15, 20_000)).status == "watch"
    shifted = psi_against(reference, rng.normal(0.75, 0.15, 20_000))
    assert shifted.status == "alert"
    assert shifted.value >= 0.25


def test_psi_reference_survives_storage():
    reference = psi_reference(np.arange(100.0))
    assert type(reference).from_dict(reference.to_dict()) == reference


@pytest.mark.parametrize(
    ("value", "status"), [(0.0, "stable"), (0.0999, "stable"), (0.1, "watch"), (0.2499, "watch"), (0.25, "alert")]
)
def test_psi_thresholds(value, status):
    assert psi_status(value) == status


def test_calibration_bins_cover_everyone_in_order():
    rng = np.random.default_rng(3)
    probability = rng.uniform(0, 1, 1000)
    outcome = (rng.uniform(0, 1, 1000) < probability).astype(int)
    bins = calibration_bins(outcome, probability, bins=10)
    assert sum(b.count for b in bins) == 1000
    means = [b.mean_predicted for b in bins]
    assert means == sorted(means)
    assert bins[0].observed_rate < bins[-1].observed_rate


@pytest.mark.parametrize(
    ("probability", "band"), [(0.95, "A"), (0.8, "A"), (0.79, "B"), (0.5, "C"), (0.2, "D"), (0.05, "E"), (0.0, "E")]
)
def test_score_bands(probability, band):
    assert score_bands([probability])[0] == band


def test_score_distribution_adds_up():
    rows = score_distribution([0.9, 0.85, 0.5, 0.1], outcome=[1, 1, 0, 0])
    assert [r.count for r in rows] == [2, 0, 1, 0, 1]
    assert sum(r.share for r in rows) == pytest.approx(1.0)
    assert rows[0].observed_rate == 1.0 and rows[1].observed_rate is None


def test_performance_by_segment():
    rows = performance_by_segment([0, 1, 0, 1, 1, 1], [0.1, 0.9, 0.2, 0.8, 0.5, 0.6], ["M1"] * 4 + ["M2"] * 2)
    assert [(r.segment, r.count, r.auc) for r in rows] == [("M1", 4, 1.0), ("M2", 2, None)]
