import datetime as dt

import numpy as np
import pytest

from doorstep.scoring.maths import ModelError
from doorstep.scoring.maths.scorecard import ScorecardModel
from doorstep.scoring.maths.validation import time_split, validation_report
from tests.scoring.portfolio import synthetic_cases


def test_the_later_dates_are_held_out_and_no_date_is_split():
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=d) for d in (0, 0, 1, 1, 2, 2, 3, 3, 4, 4)]
    train, validation = time_split(days, validation_share=0.3)
    assert train.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert validation.tolist() == [8, 9]
    assert max(days[i] for i in train) < min(days[i] for i in validation)


def test_a_time_split_needs_more_than_one_date():
    with pytest.raises(ModelError):
        time_split([dt.date(2026, 1, 1)] * 5)
    with pytest.raises(ModelError):
        time_split([1, 2, 3], validation_share=1.0)


def test_the_validation_report_holds_what_the_page_shows():
    frame, paid = synthetic_cases(rows=3000, seed=21)
    months = np.repeat(np.arange(6), 500)
    train, validation = time_split(months, validation_share=1 / 3)
    model = ScorecardModel(seed=2).fit(frame[train], paid[train])
    segments = np.where(frame["days_past_due"].to_numpy()[validation] > 30, "M2+", "M1")
    report = validation_report(model, frame[validation], paid[validation], segments=segments)
    assert report["rows"] == 1000
    assert report["gini"] == pytest.approx(2 * report["auc"] - 1)
    assert 0 < report["ks"] < 1
    assert sum(b["count"] for b in report["calibration"]) == 1000
    assert [row["segment"] for row in report["by_segment"]] == ["M1", "M2+"]
    assert report["score_psi"]["status"] == "stable"
    assert report["excluded"] == {"outstanding_principal": "low information value"}
