import lightgbm
import numpy as np
import pytest

from doorstep.scoring.maths.treeshap import TreeExplainer


def _data():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(600, 5))
    features[::7, 1] = np.nan
    features[::5, 2] = 0.0
    features[::3, 3] = np.round(features[::3, 3])
    log_odds = features[:, 0] - np.nan_to_num(features[:, 1]) + 0.5 * features[:, 3] * features[:, 4]
    outcome = (log_odds + rng.normal(size=600) > 0).astype(int)
    return features, outcome


@pytest.mark.parametrize(
    "parameters",
    [
        {"num_leaves": 8, "max_depth": 3},
        {"num_leaves": 15, "max_depth": 5},
        {"num_leaves": 31},
        {"num_leaves": 8, "zero_as_missing": True},
        {"num_leaves": 8, "use_missing": False},
    ],
    ids=["small trees", "deeper trees", "unlimited depth", "zero as missing", "no missing handling"],
)
def test_contributions_equal_lightgbms_own(parameters):
    features, outcome = _data()
    booster = lightgbm.train(
        {"objective": "binary", "verbosity": -1, "min_data_in_leaf": 10, "seed": 1, "num_threads": 1, **parameters},
        lightgbm.Dataset(features, label=outcome),
        num_boost_round=15,
    )
    explainer = TreeExplainer(booster.dump_model())
    theirs = booster.predict(features, pred_contrib=True)
    ours = explainer.contributions(features)
    assert ours == pytest.approx(theirs[:, :-1], abs=1e-9)
    assert explainer.expected_value == pytest.approx(theirs[0, -1])
    assert ours.sum(axis=1) + explainer.expected_value == pytest.approx(booster.predict(features, raw_score=True))


def test_chunks_worked_on_side_by_side_add_up_the_same():
    features, outcome = _data()
    booster = lightgbm.train(
        {"objective": "binary", "verbosity": -1, "num_leaves": 8, "max_depth": 3, "num_threads": 1},
        lightgbm.Dataset(features, label=outcome),
        num_boost_round=5,
    )
    explainer = TreeExplainer(booster.dump_model())
    many = np.tile(features, (120, 1))  # more rows than one chunk holds
    assert (explainer.contributions(many, threads=2) == explainer.contributions(many, threads=1)).all()
