import numpy as np
import polars as pl
import pytest

from doorstep.scoring.maths.interface import (
    DIRECTION_HIGH,
    DIRECTION_LOW,
    ModelError,
    ReasonCodes,
    decode,
    feature_matrix,
    outcome_vector,
    top_negative,
)


def test_top_negative_picks_the_most_negative_effects_in_order():
    effects = np.array(
        [
            [-1.0, 0.5, -3.0, -0.2],
            [0.1, 0.2, 0.0, 0.3],
            [-0.5, -0.5, 2.0, -4.0],
        ]
    )
    factors, impacts = top_negative(effects, 3)
    assert factors.tolist() == [[2, 0, 3], [-1, -1, -1], [3, 0, 1]]
    assert impacts.tolist() == [[-3.0, -1.0, -0.2], [0.0, 0.0, 0.0], [-4.0, -0.5, -0.5]]


def test_top_negative_pads_when_asked_for_more_than_there_are_features():
    factors, impacts = top_negative(np.array([[-1.0, -2.0]]), 4)
    assert factors.tolist() == [[1, 0, -1, -1]]
    assert impacts.tolist() == [[-2.0, -1.0, 0.0, 0.0]]


def test_reason_codes_read_row_by_row():
    codes = ReasonCodes(
        feature_names=("days_past_due", "paid_share_90d"),
        factors=np.array([[1, 0], [0, -1]], dtype=np.int32),
        impacts=np.array([[-5.0, -1.0], [-2.0, 0.0]]),
        directions=np.array([[DIRECTION_LOW, DIRECTION_HIGH], [DIRECTION_HIGH, 0]], dtype=np.int8),
        unit="points",
    )
    assert [(r.factor, r.direction) for r in codes.for_row(0)] == [("paid_share_90d", "low"), ("days_past_due", "high")]
    assert len(codes.for_row(1)) == 1


def test_a_frame_is_matched_by_column_name_and_nulls_become_nan():
    frame = pl.DataFrame({"b": [1, None], "a": [3.5, 4.0], "ignored": ["x", "y"]})
    matrix, names = feature_matrix(frame, ("a", "b"))
    assert names == ("a", "b")
    assert matrix[0].tolist() == [3.5, 1.0]
    assert np.isnan(matrix[1, 1])


@pytest.mark.parametrize(
    ("table", "names"),
    [
        (pl.DataFrame({"a": [1]}), ("a", "b")),
        (pl.DataFrame({"a": ["text"]}), ("a",)),
        (np.array([[1.0, 2.0]]), ("a",)),
        (np.array([1.0, 2.0]), ("a", "b")),
        (np.array([[np.inf]]), ("a",)),
    ],
    ids=["missing column", "text column", "wrong width", "one-dimensional", "infinite value"],
)
def test_bad_feature_tables_are_refused(table, names):
    with pytest.raises(ModelError):
        feature_matrix(table, names)


def test_outcome_must_be_paid_or_not():
    assert outcome_vector(pl.Series([0, 1, 1]), 3).tolist() == [0, 1, 1]
    with pytest.raises(ModelError):
        outcome_vector([0, 1, -1], 3)


def test_only_doorstep_models_are_decoded():
    with pytest.raises(ModelError):
        decode(b'{"format": "something else"}')
    with pytest.raises(ModelError):
        decode(b"\xff\xfe")
