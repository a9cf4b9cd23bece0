import math

import numpy as np
import polars as pl
import pytest

from doorstep.scoring.maths import ModelError, PropensityModel, load_model
from doorstep.scoring.maths.metrics import roc_auc
from doorstep.scoring.maths.scorecard import EXCLUDED_LOW_INFORMATION, ScorecardModel
from tests.scoring.portfolio import borrower, synthetic_cases


@pytest.fixture(scope="module")
def cases():
    return synthetic_cases()


@pytest.fixture(scope="module")
def scorecard(cases):
    frame, paid = cases
    return ScorecardModel(seed=1).fit(frame, paid)


def test_the_scorecard_is_a_propensity_model(scorecard):
    assert isinstance(scorecard, PropensityModel)


def test_the_scorecard_ranks_unseen_cases(scorecard):
    frame, paid = synthetic_cases(rows=2000, seed=99)
    assert roc_auc(paid, scorecard.predict_proba(frame)) > 0.75


def test_a_useless_feature_is_left_out_with_its_reason(cases):
    frame, paid = cases
    model = ScorecardModel(exclude={"outstanding_principal": "not to be used"}).fit(
        frame.with_columns(pl.lit(1.0).alias("branch_constant")), paid
    )
    assert model.metadata["excluded"] == {
        "branch_constant": EXCLUDED_LOW_INFORMATION,
        "outstanding_principal": "not to be used",
    }
    assert set(model.selected) == {"days_past_due", "paid_share_90d", "promises_broken_90d"}


@pytest.mark.parametrize(
    ("feature", "worse_value", "direction"),
    [("days_past_due", 170, "high"), ("paid_share_90d", 0.02, "low"), ("promises_broken_90d", 4, "high")],
)
def test_a_borrower_worse_on_one_feature_gets_it_as_the_top_reason(scorecard, feature, worse_value, direction):
    good = borrower()
    worse = borrower(**{feature: worse_value})
    assert scorecard.predict_proba(worse)[0] < scorecard.predict_proba(good)[0]
    reasons = scorecard.reason_codes(worse).for_row(0)
    assert reasons[0].factor == feature
    assert reasons[0].direction == direction
    assert reasons[0].impact < 0


def test_the_best_borrower_has_nothing_that_lowered_the_score(scorecard):
    codes = scorecard.reason_codes(borrower(), top=3)
    assert codes.for_row(0) == []
    assert (codes.factors == -1).all()


def test_reasons_come_strongest_first(scorecard):
    codes = scorecard.reason_codes(borrower(days_past_due=170, paid_share_90d=0.4, promises_broken_90d=5), top=3)
    impacts = [reason.impact for reason in codes.for_row(0)]
    assert len(impacts) == 3
    assert impacts == sorted(impacts)


def test_a_missing_value_has_its_own_points_and_is_named_as_missing(cases):
    frame, paid = cases
    rng = np.random.default_rng(5)
    unknown = rng.uniform(0, 1, len(paid)) < 0.1
    # Borrowers with no payment record rarely pay.
    paid = np.where(unknown, (rng.uniform(0, 1, len(paid)) < 0.1).astype(np.int8), paid)
    frame = frame.with_columns(
        pl.when(pl.Series(unknown)).then(None).otherwise(pl.col("paid_share_90d")).alias("paid_share_90d")
    )
    model = ScorecardModel().fit(frame, paid)
    reasons = model.reason_codes(borrower(paid_share_90d=math.nan)).for_row(0)
    assert (reasons[0].factor, reasons[0].direction) == ("paid_share_90d", "missing")


def test_points_follow_the_binning_trend(scorecard):
    trends = {}
    for name in scorecard.selected:
        binning = scorecard.binning(name)
        points = [row["points"] for row in scorecard.attribute_table() if row["feature"] == name][:-1]
        steps = np.diff(points)
        if binning.trend == "ascending":
            assert (steps > 0).all(), name
        elif binning.trend == "descending":
            assert (steps < 0).all(), name
        trends[name] = binning.trend
    # Paying gets rarer with days past due and broken promises, commoner with past payments.
    assert trends == {
        "days_past_due": "descending",
        "paid_share_90d": "ascending",
        "promises_broken_90d": "descending",
    }


def test_points_scale_at_600_for_odds_of_50_to_1_and_20_to_double(scorecard, cases):
    frame, _ = cases
    probability = scorecard.predict_proba(frame)
    points = scorecard.score_points(frame)
    expected = 600 + 20 / math.log(2) * (np.log(probability / (1 - probability)) - math.log(50))
    assert points == pytest.approx(expected)
    assert scorecard.points(frame).sum(axis=1) == pytest.approx(points)


def test_the_scorecard_round_trips_through_bytes(scorecard, cases):
    frame, _ = cases
    restored = load_model(scorecard.to_bytes())
    assert isinstance(restored, ScorecardModel)
    assert restored.predict_proba(frame) == pytest.approx(scorecard.predict_proba(frame), abs=0)
    assert (restored.reason_codes(frame).factors == scorecard.reason_codes(frame).factors).all()
    assert restored.metadata == scorecard.metadata


def test_the_same_seed_builds_the_same_scorecard(cases):
    frame, paid = cases
    assert ScorecardModel(seed=5).fit(frame, paid).to_bytes() == ScorecardModel(seed=5).fit(frame, paid).to_bytes()


def test_numpy_input_in_the_training_order_scores_the_same(scorecard, cases):
    frame, _ = cases
    assert scorecard.predict_proba(frame.to_numpy()) == pytest.approx(scorecard.predict_proba(frame))


@pytest.mark.parametrize(
    "change",
    [
        lambda frame, paid: (frame, np.where(paid == 1, 2, 0)),
        lambda frame, paid: (frame, np.ones_like(paid)),
        lambda frame, paid: (frame.with_columns(pl.lit("x").alias("branch")), paid),
        lambda frame, paid: (frame, paid[:-1]),
    ],
    ids=["outcome not 0/1", "everyone paid", "text column", "outcome too short"],
)
def test_bad_training_input_is_refused(cases, change):
    frame, paid = change(*cases)
    with pytest.raises(ModelError):
        ScorecardModel().fit(frame, paid)


def test_scoring_needs_every_feature(scorecard):
    with pytest.raises(ModelError, match="days_past_due"):
        scorecard.predict_proba(borrower().drop("days_past_due"))


def test_an_untrained_or_damaged_scorecard_is_refused(scorecard):
    with pytest.raises(ModelError):
        ScorecardModel().predict_proba(borrower())
    with pytest.raises(ModelError):
        load_model(b"not a model")
    with pytest.raises(ModelError):
        load_model(scorecard.to_bytes().replace(b'"intercept"', b'"intercep"'))


def test_categories_are_binned_by_their_payment_rate():
    rng = np.random.default_rng(4)
    channel = rng.integers(1, 5, 4000).astype(float)
    paid = (rng.uniform(0, 1, 4000) < np.array([0.0, 0.8, 0.3, 0.6, 0.5])[channel.astype(int)]).astype(int)
    model = ScorecardModel(categorical=["channel"], seed=0).fit(pl.DataFrame({"channel": channel}), paid)
    reasons = model.reason_codes(pl.DataFrame({"channel": [2.0]})).for_row(0)
    assert reasons[0].factor == "channel" and reasons[0].direction == "category"
    assert model.predict_proba(pl.DataFrame({"channel": [1.0]}))[0] > model.predict_proba(
        pl.DataFrame({"channel": [2.0]})
    )[0]


def test_a_category_never_seen_in_training_scores_as_missing():
    rng = np.random.default_rng(6)
    channel = rng.integers(1, 4, 3000).astype(float)
    paid = (rng.uniform(0, 1, 3000) < np.array([0.0, 0.8, 0.3, 0.6])[channel.astype(int)]).astype(int)
    model = ScorecardModel(categorical=["channel"]).fit(pl.DataFrame({"channel": channel}), paid)
    unseen = pl.DataFrame({"channel": [9.0]})
    assert model.score_points(unseen)[0] == pytest.approx(model.score_points(pl.DataFrame({"channel": [None]}))[0])
