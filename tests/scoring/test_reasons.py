import pytest

from doorstep.scoring.maths.interface import Reason
from doorstep.scoring.maths.reasons import (
    FACTORS,
    LANGUAGES,
    explain,
    explain_both,
    factor_label,
    reason_sentence,
)


@pytest.mark.parametrize("factor", sorted(FACTORS))
def test_every_factor_speaks_both_languages(factor):
    text = FACTORS[factor]
    assert {"label", "high", "low"} <= set(text)
    for part in text.values():
        assert set(part) == set(LANGUAGES)
        assert all(sentence.strip() for sentence in part.values())


def test_a_late_borrower_hears_why_in_both_languages():
    reasons = [Reason("days_past_due", -12.5, "high"), Reason("paid_share_90d", -8.0, "low")]
    assert explain(reasons, "en") == ["Overdue for many days", "Paid little of what fell due"]
    assert explain(reasons, "zh-Hans") == ["逾期天数较长", "近90天还款占应还比例较低"]


def test_monthly_factors_name_the_month():
    assert reason_sentence("repayment_status_m1", "high", "en") == "Behind on repayment last month"
    assert reason_sentence("paid_amount_m3", "low", "zh-Hans") == "3个月前还款很少或未还款"
    assert reason_sentence("repayment_status_m2", "category", "en") == "Late or partial repayment 2 months ago"


def test_categories_and_missing_values_are_described_from_the_label():
    assert reason_sentence("purpose", "category", "en") == "Loan purpose: a group that pays less often"
    assert reason_sentence("days_past_due", "missing", "zh-Hans") == "逾期天数：缺少记录"


def test_an_unknown_factor_still_reads_sensibly():
    assert factor_label("branch_region", "en") == "branch region"
    assert reason_sentence("branch_region", "high", "en") == "branch region: a group that pays less often"


def test_unknown_language_or_direction_is_refused():
    with pytest.raises(ValueError, match="language"):
        reason_sentence("days_past_due", "high", "fr")
    with pytest.raises(ValueError, match="direction"):
        reason_sentence("days_past_due", "sideways", "en")


def test_explain_both_gives_every_language():
    both = explain_both([Reason("overdue_total", -3.0, "high")])
    assert both == {"en": ["Large overdue amount"], "zh-Hans": ["逾期金额较大"]}
