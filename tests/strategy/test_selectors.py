"""Reads: experiment results by arm with intervals, scripts for a case's next step."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.urls import reverse

from doorstep.core.roles import Role
from doorstep.portfolio.models import Case, CaseStatus
from doorstep.strategy import selectors, services
from tests import factories
from tests.conftest import Cast
from tests.strategy.factories import activate, make_version

DAY = dt.date(2026, 11, 28)


def test_results_compare_arms_with_intervals_and_say_when_not_significant(cast: Cast) -> None:
    approver = factories.make_user("manager2", Role.MANAGER)
    challenger = make_version(
        cast.manager, rules=[("Calls", "always", [{"channel": "call", "day": 0}])], code="calls"
    )
    champion = make_version(cast.manager)
    for _ in range(40):
        factories.make_case(days_past_due=45)
    services.experiment_save(
        actor=cast.manager,
        version_id=champion.pk,
        test_id="t1",
        holdout_share=1000,
        challengers=[{"key": "calls", "name": "Calls", "share": 4000, "source_version_id": challenger.pk}],
    )
    activate(champion, cast.manager, approver)
    services.strategy_apply(actor="system:test", business_date=DAY)
    # Some cases cure; some pay part of what they owed.
    cured = list(Case.objects.order_by("pk").values_list("pk", flat=True)[:8])
    Case.objects.filter(pk__in=cured).update(status=CaseStatus.CURED, closed_on=DAY)

    results = selectors.experiment_results(user=cast.manager, version=champion)

    arms = {arm.arm: arm for arm in results.arms}
    assert set(arms) == {"champion", "calls", "holdout"}
    assert sum(arm.cases for arm in arms.values()) == Case.objects.count()
    cure = arms["champion"].metrics["cure_rate"]
    assert cure.low is not None and cure.high is not None and cure.low <= cure.estimate <= cure.high
    assert arms["champion"].metrics["promise_kept_rate"].has_data is False
    assert arms["champion"].metrics["complaints"].has_data is False
    assert any(comparison.metric == "cure_rate" for comparison in results.comparisons)
    # Forty-odd cases cannot show a real difference.
    assert not any(
        comparison.significant for comparison in results.comparisons if comparison.metric == "cure_rate"
    )

    page = Client()
    page.force_login(cast.manager)
    html = page.get(reverse("strategy:results", args=[champion.pk])).content.decode()
    assert "no data yet" in html or "暂无数据" in html


def test_the_script_for_a_case_is_that_of_its_next_step_and_only_for_who_may_see_the_case(cast: Cast) -> None:
    approver = factories.make_user("manager2", Role.MANAGER)
    activate(make_version(cast.manager), cast.manager, approver)
    services.strategy_apply(actor="system:test", business_date=DAY)

    script = selectors.script_for_case(user=cast.collector_user, case_id=cast.own_case.pk, language="en")

    assert script is not None and script.code == "call_m2"
    assert [section for section, _text in script.sections] == [
        "opening",
        "purpose",
        "questions",
        "options",
        "never_say",
    ]
    chinese = selectors.script_text(code="call_m2", language="zh-hans")
    assert chinese is not None and "催收专员" in chinese.sections[0][1]
    import pytest
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.script_for_case(user=cast.collector_user, case_id=cast.colleagues_case.pk)


def test_every_seeded_script_has_every_section_in_both_languages(db: None) -> None:
    from doorstep.strategy.models import Script

    scripts = list(Script.objects.all())
    assert {script.channel for script in scripts} >= {"sms", "call", "visit", "letter", "legal"}
    for script in scripts:
        for section in selectors.SCRIPT_SECTIONS:
            assert getattr(script, f"{section}_zh").strip() and getattr(script, f"{section}_en").strip()
