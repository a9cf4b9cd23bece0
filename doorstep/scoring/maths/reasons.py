
"""Reason codes in words a collector understands, in English and Simplified Chinese.

A reason is a factor (a model feature) and the side its value lay on when it lowered the chance of
payment: ``high``, ``low``, ``category`` (a code that pays less often) or ``missing``. Each known factor has
a label and a sentence for ``high`` and ``low``; the other two are built from the label. The web layer
chooses the language; this module only holds both.
"""

from __future__ import annotations

from collections.abc import Iterable

from doorstep.scoring.maths.interface import Reason

LANGUAGES = ("en", "zh-Hans")

Text = dict[str, str]
FactorText = dict[str, Text]

FACTORS: dict[str, FactorText] = {
    # Facts Doorstep holds on every case.
    "days_past_due": {
        "label": {"en": "Days past due", "zh-Hans": "逾期天数"},
        "high": {"en": "Overdue for many days", "zh-Hans": "逾期天数较长"},
        "low": {"en": "Only recently overdue", "zh-Hans": "刚逾期不久"},
    },
    "overdue_total": {
        "label": {"en": "Overdue amount", "zh-Hans": "逾期金额"},
        "high": {"en": "Large overdue amount", "zh-Hans": "逾期金额较大"},
        "low": {"en": "Small overdue amount", "zh-Hans": "逾期金额较小"},
    },
    "outstanding_principal": {
        "label": {"en": "Outstanding principal", "zh-Hans": "剩余本金"},
        "high": {"en": "Much principal still outstanding", "zh-Hans": "剩余本金较多"},
        "low": {"en": "Little principal outstanding", "zh-Hans": "剩余本金较少"},
    },
    "overdue_share": {
        "label": {"en": "Overdue share of the loan", "zh-Hans": "逾期金额占贷款比例"},
        "high": {"en": "Much of the loan is overdue", "zh-Hans": "逾期金额占贷款比例较高"},
        "low": {"en": "Little of the loan is overdue", "zh-Hans": "逾期金额占贷款比例较低"},
    },
    "bucket_rolls_6m": {
        "label": {"en": "Rolls to a worse bucket (6 months)", "zh-Hans": "近六个月账龄迁徙次数"},
        "high": {"en": "Rolled into worse buckets recently", "zh-Hans": "近期账龄多次迁徙恶化"},
        "low": {"en": "Few rolls to a worse bucket", "zh-Hans": "账龄迁徙较少"},
    },
    "months_on_book": {
        "label": {"en": "Months as a customer", "zh-Hans": "开户月数"},
        "high": {"en": "Long-standing customer", "zh-Hans": "开户时间较长"},
        "low": {"en": "New customer", "zh-Hans": "开户时间较短"},
    },
    "promises_broken_90d": {
        "label": {"en": "Broken promises (90 days)", "zh-Hans": "近90天未兑现承诺次数"},
        "high": {"en": "Broke promises to pay recently", "zh-Hans": "近期多次未兑现还款承诺"},
        "low": {"en": "Few broken promises", "zh-Hans": "未兑现承诺较少"},
    },
    "promises_kept_90d": {
        "label": {"en": "Kept promises (90 days)", "zh-Hans": "近90天兑现承诺次数"},
        "high": {"en": "Kept many promises to pay", "zh-Hans": "多次兑现还款承诺"},
        "low": {"en": "Few promises to pay kept", "zh-Hans": "兑现的还款承诺较少"},
    },
    "payments_90d": {
        "label": {"en": "Payments (90 days)", "zh-Hans": "近90天还款次数"},
        "high": {"en": "Many payments in the last 90 days", "zh-Hans": "近90天还款次数较多"},
        "low": {"en": "Few or no payments in the last 90 days", "zh-Hans": "近90天很少或没有还款"},
    },
    "paid_share_90d": {
        "label": {"en": "Share of dues paid (90 days)", "zh-Hans": "近90天还款占应还比例"},
        "high": {"en": "Paid most of what fell due", "zh-Hans": "近90天还款占应还比例较高"},
        "low": {"en": "Paid little of what fell due", "zh-Hans": "近90天还款占应还比例较低"},
    },
    "days_since_last_payment": {
        "label": {"en": "Days since the last payment", "zh-Hans": "距上次还款天数"},
        "high": {"en": "Long time since the last payment", "zh-Hans": "距上次还款时间较长"},
        "low": {"en": "Paid recently", "zh-Hans": "近期有还款"},
        "missing": {"en": "No payment in the last year", "zh-Hans": "近一年没有还款记录"},
    },
    "right_party_contact_rate": {
        "label": {"en": "Right-party contact rate", "zh-Hans": "有效联系率"},
        "high": {"en": "Usually reached in person", "zh-Hans": "通常能联系到本人"},
        "low": {"en": "Rarely reached in person", "zh-Hans": "很少能联系到本人"},
        "missing": {"en": "No contact attempts recorded recently", "zh-Hans": "近期没有联系记录"},
    },
    "refusals_90d": {
        "label": {"en": "Refusals to pay (90 days)", "zh-Hans": "近90天拒绝还款次数"},
        "high": {"en": "Refused to pay recently", "zh-Hans": "近期明确拒绝还款"},
        "low": {"en": "Seldom refused to pay", "zh-Hans": "很少拒绝还款"},
    },
    "visits_90d": {
        "label": {"en": "Field visits (90 days)", "zh-Hans": "近90天上门次数"},
        "high": {"en": "Visited several times without payment", "zh-Hans": "多次上门仍未还款"},
        "low": {"en": "Rarely visited so far", "zh-Hans": "上门次数较少"},
    },
    "age": {
        "label": {"en": "Age", "zh-Hans": "年龄"},
        "high": {"en": "Age group that pays less often (older)", "zh-Hans": "该年龄段（较年长）还款率较低"},
        "low": {"en": "Age group that pays less often (younger)", "zh-Hans": "该年龄段（较年轻）还款率较低"},
    },
    "bucket_level": {
        "label": {"en": "Bucket", "zh-Hans": "逾期阶段"},
        "high": {"en": "In a late bucket", "zh-Hans": "处于较晚的逾期阶段"},
        "low": {"en": "In an early bucket", "zh-Hans": "处于较早的逾期阶段"},
    },
    "product": {
        "label": {"en": "Product", "zh-Hans": "贷款产品"},
        "high": {"en": "Product that pays less often", "zh-Hans": "该贷款产品还款率较低"},
        "low": {"en": "Product that pays less often", "zh-Hans": "该贷款产品还款率较低"},
    },
    "contacts_90d": {
        "label": {"en": "Contact attempts (90 days)", "zh-Hans": "近90天联系次数"},
        "high": {"en": "Many contact attempts without payment", "zh-Hans": "多次联系仍未还款"},
        "low": {"en": "Hardly contacted so far", "zh-Hans": "联系次数较少"},
    },
    "last_visit_willingness": {
        "label": {"en": "Willingness at the last visit", "zh-Hans": "上次上门时的还款意愿"},
        "high": {"en": "Seemed willing at the last visit, yet did not pay", "zh-Hans": "上次上门表示愿意还款但未还款"},
        "low": {"en": "Reluctant to pay at the last visit", "zh-Hans": "上次上门时还款意愿较低"},
        "missing": {"en": "No recent visit has recorded willingness to pay", "zh-Hans": "近期上门未记录还款意愿"},
    },
    "last_visit_attitude": {
        "label": {"en": "Attitude at the last visit", "zh-Hans": "上次上门时的态度"},
        "high": {"en": "Friendly at the last visit, yet did not pay", "zh-Hans": "上次上门态度配合但未还款"},
        "low": {"en": "Evasive or hostile at the last visit", "zh-Hans": "上次上门时态度回避或敌对"},
        "missing": {"en": "No recent visit has recorded the borrower's attitude", "zh-Hans": "近期上门未记录借款人态度"},
    },
    "last_visit_reason": {
        "label": {"en": "Reason for arrears given at the last visit", "zh-Hans": "上次上门了解的逾期原因"},
        "high": {"en": "Reason for arrears that pays less often", "zh-Hans": "该逾期原因还款率较低"},
        "low": {"en": "Reason for arrears that pays less often", "zh-Hans": "该逾期原因还款率较低"},
        "missing": {"en": "No recent visit has recorded the reason for arrears", "zh-Hans": "近期上门未记录逾期原因"},
    },
    "borrower_age": {
        "label": {"en": "Age", "zh-Hans": "年龄"},
        "high": {"en": "Age group that pays less often (older)", "zh-Hans": "该年龄段（较年长）还款率较低"},
        "low": {"en": "Age group that pays less often (younger)", "zh-Hans": "该年龄段（较年轻）还款率较低"},
    },
    # Card-account facts (as in the public Taiwan credit-card data).
    "credit_limit": {
        "label": {"en": "Credit limit", "zh-Hans": "授信额度"},
        "high": {"en": "High credit limit", "zh-Hans": "授信额度较高"},
        "low": {"en": "Low credit limit", "zh-Hans": "授信额度较低"},
    },
    "education": {
        "label": {"en": "Education", "zh-Hans": "教育程度"},
        "high": {"en": "Education group that pays less often", "zh-Hans": "该教育程度群体还款率较低"},
        "low": {"en": "Education group that pays less often", "zh-Hans": "该教育程度群体还款率较低"},
    },
    "utilisation_m1": {
        "label": {"en": "Balance against credit limit", "zh-Hans": "额度使用率"},
        "high": {"en": "Balance close to the credit limit", "zh-Hans": "欠款接近授信额度"},
        "low": {"en": "Card barely used", "zh-Hans": "额度使用很少"},
    },
    "worst_repayment_status_6m": {
        "label": {"en": "Worst arrears (6 months)", "zh-Hans": "近六个月最长逾期"},
        "high": {"en": "Seriously behind in the last six months", "zh-Hans": "近六个月曾严重逾期"},
        "low": {"en": "No serious arrears in the last six months", "zh-Hans": "近六个月无严重逾期"},
        "category": {"en": "Late or partial repayments in the last six months", "zh-Hans": "近六个月有逾期或未足额还款"},
    },
    "months_overdue_6m": {
        "label": {"en": "Months overdue (6 months)", "zh-Hans": "近六个月逾期月数"},
        "high": {"en": "Overdue in several of the last six months", "zh-Hans": "近六个月多次逾期"},
        "low": {"en": "Rarely overdue in the last six months", "zh-Hans": "近六个月很少逾期"},
    },
    "paid_to_limit_6m": {
        "label": {"en": "Paid in 6 months against the limit", "zh-Hans": "近六个月还款额占额度比例"},
        "high": {"en": "Paid large amounts in the last six months", "zh-Hans": "近六个月还款较多"},
        "low": {"en": "Paid little in the last six months", "zh-Hans": "近六个月还款较少"},
    },
    # Applicant facts (as in the public German credit data).
    "checking_account": {
        "label": {"en": "Current account balance", "zh-Hans": "活期账户余额"},
        "high": {"en": "Current account status that pays less often", "zh-Hans": "活期账户状况不佳"},
        "low": {"en": "Current account status that pays less often", "zh-Hans": "活期账户状况不佳"},
    },
    "duration_months": {
        "label": {"en": "Loan term in months", "zh-Hans": "贷款期限（月）"},
        "high": {"en": "Long loan term", "zh-Hans": "贷款期限较长"},
        "low": {"en": "Short loan term", "zh-Hans": "贷款期限较短"},
    },
    "credit_history": {
        "label": {"en": "Credit history", "zh-Hans": "信用记录"},
        "high": {"en": "Weak credit history", "zh-Hans": "信用记录较差"},
        "low": {"en": "Weak credit history", "zh-Hans": "信用记录较差"},
    },
    "purpose": {
        "label": {"en": "Loan purpose", "zh-Hans": "贷款用途"},
        "high": {"en": "Loan purpose that pays less often", "zh-Hans": "该贷款用途还款率较低"},
        "low": {"en": "Loan purpose that pays less often", "zh-Hans": "该贷款用途还款率较低"},
    },
    "credit_amount": {
        "label": {"en": "Loan amount", "zh-Hans": "贷款金额"},
        "high": {"en": "Large loan amount", "zh-Hans": "贷款金额较大"},
        "low": {"en": "Small loan amount", "zh-Hans": "贷款金额较小"},
    },
    "savings": {
        "label": {"en": "Savings", "zh-Hans": "储蓄"},
        "high": {"en": "Little or no savings", "zh-Hans": "储蓄较少或没有储蓄"},
        "low": {"en": "Little or no savings", "zh-Hans": "储蓄较少或没有储蓄"},
    },
    "employment_since": {
        "label": {"en": "Time in current job", "zh-Hans": "现职工作年限"},
        "high": {"en": "Short time in the current job", "zh-Hans": "现职工作时间较短"},
        "low": {"en": "Short time in the current job", "zh-Hans": "现职工作时间较短"},
    },
    "instalment_rate": {
        "label": {"en": "Instalment against income", "zh-Hans": "月供占收入比例"},
        "high": {"en": "Instalments take much of the income", "zh-Hans": "月供占收入比例较高"},
        "low": {"en": "Instalments take little of the income", "zh-Hans": "月供占收入比例较低"},
    },
    "other_debtors": {
        "label": {"en": "Co-applicant or guarantor", "zh-Hans": "共同借款人或担保人"},
        "high": {"en": "No guarantor or co-applicant", "zh-Hans": "无担保人或共同借款人"},
        "low": {"en": "No guarantor or co-applicant", "zh-Hans": "无担保人或共同借款人"},
    },
    "residence_since": {
        "label": {"en": "Years at the address", "zh-Hans": "现住址居住年限"},
        "high": {"en": "Long at the current address", "zh-Hans": "现住址居住时间较长"},
        "low": {"en": "Recently moved", "zh-Hans": "最近搬家"},
    },
    "property": {
        "label": {"en": "Property", "zh-Hans": "财产"},
        "high": {"en": "Little property", "zh-Hans": "财产较少"},
        "low": {"en": "Little property", "zh-Hans": "财产较少"},
    },
    "other_instalment_plans": {
        "label": {"en": "Other instalment plans", "zh-Hans": "其他分期付款"},
        "high": {"en": "Has other instalment plans", "zh-Hans": "有其他分期付款"},
        "low": {"en": "Has other instalment plans", "zh-Hans": "有其他分期付款"},
    },
    "housing": {
        "label": {"en": "Housing", "zh-Hans": "住房情况"},
        "high": {"en": "Housing situation that pays less often", "zh-Hans": "该住房情况还款率较低"},
        "low": {"en": "Housing situation that pays less often", "zh-Hans": "该住房情况还款率较低"},
    },
    "existing_credits": {
        "label": {"en": "Loans at this bank", "zh-Hans": "在本行贷款笔数"},
        "high": {"en": "Several loans at this bank", "zh-Hans": "在本行有多笔贷款"},
        "low": {"en": "Few loans at this bank", "zh-Hans": "在本行贷款较少"},
    },
    "job": {
        "label": {"en": "Job", "zh-Hans": "职业"},
        "high": {"en": "Job group that pays less often", "zh-Hans": "该职业群体还款率较低"},
        "low": {"en": "Job group that pays less often", "zh-Hans": "该职业群体还款率较低"},
    },
    "dependants": {
        "label": {"en": "Dependants", "zh-Hans": "供养人数"},
        "high": {"en": "Many dependants", "zh-Hans": "供养人数较多"},
        "low": {"en": "Few dependants", "zh-Hans": "供养人数较少"},
    },
    "telephone": {
        "label": {"en": "Telephone registered", "zh-Hans": "登记电话"},
        "high": {"en": "No telephone registered", "zh-Hans": "未登记电话"},
        "low": {"en": "No telephone registered", "zh-Hans": "未登记电话"},
    },
}

_WHEN = {
    1: {"en": "last month", "zh-Hans": "上个月"},
    **{n: {"en": f"{n} months ago", "zh-Hans": f"{n}个月前"} for n in range(2, 7)},
}
for _n, _when in _WHEN.items():
    FACTORS[f"repayment_status_m{_n}"] = {
        "label": {"en": f"Repayment {_when['en']}", "zh-Hans": f"{_when['zh-Hans']}还款状态"},
        "high": {"en": f"Behind on repayment {_when['en']}", "zh-Hans": f"{_when['zh-Hans']}还款逾期"},
        "low": {"en": f"Repayment pattern {_when['en']} that pays less often", "zh-Hans": f"{_when['zh-Hans']}的还款方式还款率较低"},
        "category": {"en": f"Late or partial repayment {_when['en']}", "zh-Hans": f"{_when['zh-Hans']}还款逾期或未足额还款"},
    }
    FACTORS[f"bill_amount_m{_n}"] = {
        "label": {"en": f"Statement balance {_when['en']}", "zh-Hans": f"{_when['zh-Hans']}账单金额"},
        "high": {"en": f"High statement balance {_when['en']}", "zh-Hans": f"{_when['zh-Hans']}账单金额较高"},
        "low": {"en": f"Low statement balance {_when['en']}", "zh-Hans": f"{_when['zh-Hans']}账单金额较低"},
    }
    FACTORS[f"paid_amount_m{_n}"] = {
        "label": {"en": f"Amount paid {_when['en']}", "zh-Hans": f"{_when['zh-Hans']}还款金额"},
        "high": {"en": f"Large payment {_when['en']}", "zh-Hans": f"{_when['zh-Hans']}还款金额较大"},
        "low": {"en": f"Paid little or nothing {_when['en']}", "zh-Hans": f"{_when['zh-Hans']}还款很少或未还款"},
    }
    FACTORS[f"paid_share_m{_n}"] = {
        "label": {"en": f"Share of the bill paid {_when['en']}", "zh-Hans": f"{_when['zh-Hans']}还款占账单比例"},
        "high": {"en": f"Paid much of the bill {_when['en']}", "zh-Hans": f"{_when['zh-Hans']}还款占账单比例较高"},
        "low": {"en": f"Paid little of the bill {_when['en']}", "zh-Hans": f"{_when['zh-Hans']}还款占账单比例较低"},
    }

_GENERIC = {
    "category": {"en": "{label}: a group that pays less often", "zh-Hans": "{label}：该类别还款率较低"},
    "missing": {"en": "{label}: not recorded", "zh-Hans": "{label}：缺少记录"},
}


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")


def factor_label(factor: str, language: str) -> str:
    _check_language(language)
    known = FACTORS.get(factor)
    if known is None:
        return factor.replace("_", " ")
    return known["label"][language]


def reason_sentence(factor: str, direction: str, language: str) -> str:
    """The sentence for one factor that lowered the chance of payment."""
    _check_language(language)
    known = FACTORS.get(factor)
    if known is not None and direction in known:
        return known[direction][language]
    if direction in ("high", "low") and known is None:
        return _GENERIC["category"][language].format(label=factor_label(factor, language))
    template = _GENERIC.get(direction)
    if template is None:
        raise ValueError(f"unknown direction {direction!r}")
    return template[language].format(label=factor_label(factor, language))


def explain(reasons: Iterable[Reason], language: str) -> list[str]:
    return [reason_sentence(reason.factor, reason.direction, language) for reason in reasons]


def explain_both(reasons: Iterable[Reason]) -> dict[str, list[str]]:
    """The sentences in every supported language, for storing with the score."""
    listed = list(reasons)
    return {language: explain(listed, language) for language in LANGUAGES}
