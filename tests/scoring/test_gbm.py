import numpy as np
import polars as pl
import pytest

from doorstep.scoring.maths import ModelError, PropensityModel, load_model
from doorstep.scoring.maths.gbm import GradientBoostingModel
from doorstep.scoring.maths.metrics import roc_auc
from tests.scoring.portfolio import borrower, synthetic_cases

SMALL = {"num_leaves": 8, "max_depth": 3, "min_data_in_leaf": 20, "learning_rate": 0.1}


@pytest.fixture(scope="module")
def cases():
    return synthetic_cases()


@pytest.fixture(scope="module")
def model(cases):
    frame, paid = cases
    return GradientBoostingModel(rounds=80, parameters=SMALL, threads=1, seed=3).fit(frame, paid)


def test_lightgbm_is_a_propensity_model(model):
    assert isinstance(model, PropensityModel)


def test_lightgbm_ranks_unseen_cases(model):
    frame, paid = synthetic_cases(rows=2000, seed=99)
    assert roc_auc(paid, model.predict_proba(frame)) > 0.75


@pytest.mark.parametrize(
    ("feature", "worse_value", "direction"),
    [("days_past_due", 170, "high"), ("paid_share_90d", 0.02, "low"), ("promises_broken_90d", 4, "high")],
)
def test_a_borrower_worse_on_one_feature_gets_it_as_the_top_reason(model, feature, worse_value, direction):
    worse = borrower(**{feature: worse_value})
    assert model.predict_proba(worse)[0] < model.predict_proba(borrower())[0]
    reasons = model.reason_codes(worse).for_row(0)
    assert reasons[0].factor == feature
    assert reasons[0].direction == direction
    assert reasons[0].impact < 0


def test_reason_codes_are_lightgbms_own_contributions(model, cases):
    frame, _ = cases
    matrix = frame.to_numpy().astype(float)
    theirs = model._booster.predict(matrix, pred_contrib=True)
    assert model.contributions(frame) == pytest.approx(theirs[:, :-1], abs=1e-9)
    codes = model.reason_codes(frame, top=2)
    most_negative = np.argmin(theirs[:, :-1], axis=1)
    lowered = theirs[:, :-1].min(axis=1) < 0
    assert (codes.factors[lowered, 0] == most_negative[lowered]).all()
    assert (codes.factors[~lowered, 0] == -1).all()


def test_a_categorical_model_uses_lightgbms_routine(cases):
    frame, paid = cases
    frame = frame.with_columns((pl.col("promises_broken_90d").clip(upper_bound=3)).alias("promises_broken_90d"))
    model = GradientBoostingModel(
        categorical=["promises_broken_90d"], rounds=30, parameters={**SMALL, "min_data_per_group": 10}, threads=1
    ).fit(frame, paid)
    theirs = model._booster.predict(frame.to_numpy().astype(float), pred_contrib=True)
    assert model.contributions(frame) == pytest.approx(theirs[:, :-1])
    assert model.reason_codes(borrower(promises_broken_90d=3)).for_row(0)[0].direction in {"category", "high"}


def test_excluded_features_are_not_used_and_are_recorded(cases):
    frame, paid = cases
    model = GradientBoostingModel(
        exclude={"outstanding_principal": "not to be used"}, rounds=20, parameters=SMALL, threads=1
    ).fit(frame, paid)
    assert model.metadata["excluded"] == {"outstanding_principal": "not to be used"}
    assert "outstanding_principal" not in model.metadata["feature_importance"]
    codes = model.reason_codes(frame)
    assert "outstanding_principal" not in {r.factor for i in range(len(codes)) for r in codes.for_row(i)}


def test_lightgbm_round_trips_through_bytes(model, cases):
    frame, _ = cases
    restored = load_model(model.to_bytes())
    assert isinstance(restored, GradientBoostingModel)
    assert restored.predict_proba(frame) == pytest.approx(model.predict_proba(frame), abs=1e-12)
    assert (restored.reason_codes(frame).factors == model.reason_codes(frame).factors).all()
    assert restored.metadata == model.metadata


def test_the_same_seed_trains_the_same_model(cases):
    frame, paid = cases
    first = GradientBoostingModel(rounds=15, parameters=SMALL, threads=2, seed=11).fit(frame, paid)
    second = GradientBoostingModel(rounds=15, parameters=SMALL, threads=2, seed=11).fit(frame, paid)
    assert first.to_bytes() == second.to_bytes()


def test_bad_input_is_refused(model, cases):
    frame, paid = cases
    with pytest.raises(ModelError):
        GradientBoostingModel(categorical=["branch"]).fit(frame, paid)
    with pytest.raises(ModelError):
        GradientBoostingModel().predict_proba(frame)
    with pytest.raises(ModelError):
        model.predict_proba(frame.to_numpy()[:, :2])
    with pytest.raises(ModelError):
        GradientBoostingModel.from_bytes(model.to_bytes().replace(b'"kind":"lightgbm"', b'"kind":"scorecard"'))
