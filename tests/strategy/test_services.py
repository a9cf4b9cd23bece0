"""Managers write strategies; a second manager activates them; the daily step applies the active one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from doorstep.core.models import AuditEvent
from doorstep.core.roles import Role
from doorstep.portfolio.models import Case
from doorstep.strategy import attributes, services
from doorstep.strategy.models import CaseTreatment, StrategyVersion, VersionStatus
from tests import factories
from tests.conftest import Cast
from tests.strategy.factories import activate, make_version

TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def second_manager(db: None):  # type: ignore[no-untyped-def]
    return factories.make_user("manager2", Role.MANAGER, first_name="孙经理")


def test_a_manager_drafts_rules_and_each_change_is_audited(cast: Cast) -> None:
    version = make_version(cast.manager)

    assert [rule["name"] for rule in version.rules_json] == ["Do not visit", "Early", "Big M2", "Late"]
    assert version.rules_json[2]["when"]["all"][1] == {
        "attr": "overdue_amount",
        "op": ">=",
        "value": "3000.00",
    }
    assert AuditEvent.objects.filter(action="strategy.rule.saved", object_id=str(version.pk)).count() == 4


def test_a_condition_that_cannot_be_read_is_refused_and_changes_nothing(cast: Cast) -> None:
    version = make_version(cast.manager)
    before = version.definition

    with pytest.raises(ValidationError, match="unknown attribute"):
        services.rule_save(
            actor=cast.manager,
            version_id=version.pk,
            name="Bad",
            condition="colour = red",
            steps=[{"channel": "sms"}],
        )

    version.refresh_from_db()
    assert version.definition == before


def test_the_submitter_cannot_approve_their_own_version(cast: Cast) -> None:
    version = make_version(cast.manager)
    services.version_submit(actor=cast.manager, version_id=version.pk)

    with pytest.raises(ValidationError, match="someone other"):
        services.version_approve(actor=cast.manager, version_id=version.pk)
    assert StrategyVersion.objects.get(pk=version.pk).status == VersionStatus.PENDING


def test_a_collector_cannot_approve(cast: Cast) -> None:
    version = make_version(cast.manager)
    services.version_submit(actor=cast.manager, version_id=version.pk)

    with pytest.raises(PermissionDenied):
        services.version_approve(actor=cast.collector_user, version_id=version.pk)


def test_approval_activates_the_version_and_retires_the_previous_one(cast: Cast, second_manager) -> None:  # type: ignore[no-untyped-def]
    first = activate(make_version(cast.manager), cast.manager, second_manager)
    draft = services.version_new_draft(actor=cast.manager, version_id=first.pk)
    services.rule_delete(actor=cast.manager, version_id=draft.pk, key=draft.rules_json[0]["key"])

    activate(draft, cast.manager, second_manager)

    first.refresh_from_db()
    draft.refresh_from_db()
    assert (first.status, draft.status) == (VersionStatus.RETIRED, VersionStatus.ACTIVE)
    assert draft.number == 2 and len(draft.rules_json) == 3 and len(first.rules_json) == 4
    assert draft.approved_by == second_manager


def test_a_submitted_version_can_no_longer_change(cast: Cast) -> None:
    version = make_version(cast.manager)
    services.version_submit(actor=cast.manager, version_id=version.pk)

    with pytest.raises(ValidationError, match="Only a draft"):
        services.rule_delete(actor=cast.manager, version_id=version.pk, key="r1")


def test_a_version_with_a_rule_that_can_never_match_cannot_be_submitted(cast: Cast) -> None:
    version = make_version(
        cast.manager,
        rules=[
            ("All", "always", [{"channel": "call", "day": 0}]),
            ("Dead", "bucket = M2", [{"channel": "visit", "day": 0}]),
        ],
    )
    with pytest.raises(ValidationError, match="never match"):
        services.version_submit(actor=cast.manager, version_id=version.pk)


def test_a_returned_version_goes_back_to_draft_with_the_reason_in_the_audit_trail(
    cast: Cast, second_manager
) -> None:  # type: ignore[no-untyped-def]
    version = make_version(cast.manager)
    services.version_submit(actor=cast.manager, version_id=version.pk)

    services.version_return(actor=second_manager, version_id=version.pk, reason="M3 需要上门")

    assert StrategyVersion.objects.get(pk=version.pk).status == VersionStatus.DRAFT
    assert AuditEvent.objects.get(action="strategy.version.returned").data == {"reason": "M3 需要上门"}


def test_the_daily_step_records_each_cases_rule_version_and_reason(cast: Cast, second_manager) -> None:  # type: ignore[no-untyped-def]
    version = activate(make_version(cast.manager), cast.manager, second_manager)
    early = factories.make_case(days_past_due=10)
    small_m2 = factories.make_case(
        days_past_due=45, overdue_principal="100.00", overdue_interest="0", penalty_interest="0"
    )
    protected = factories.make_case(factories.make_borrower("周敏", do_not_visit=True), days_past_due=45)

    summary = services.strategy_apply(actor="system:test", business_date=TODAY)

    treatments = {t.case_id: t for t in CaseTreatment.objects.filter(business_date=TODAY)}
    assert summary["cases"] == Case.objects.count() == len(treatments)
    assert treatments[early.pk].rule_name == "Early"
    assert (treatments[early.pk].next_channel, treatments[early.pk].next_due_on) == ("sms", TODAY)
    assert treatments[early.pk].next_script == "sms_reminder"
    assert treatments[small_m2.pk].rule_name == "Late"
    assert treatments[protected.pk].rule_name == "Do not visit"
    assert treatments[protected.pk].why == "Do not visit: do_not_visit or is_deceased or has_dispute"
    assert treatments[early.pk].why == "Early: bucket == M1"
    # The cast's cases: 3,170.50 overdue in M2 — the big-M2 rule, a call today, then a visit on day 5.
    assert treatments[cast.own_case.pk].rule_name == "Big M2"
    assert treatments[cast.own_case.pk].path == "call@0>visit@5/14"
    assert all(t.version_id == version.pk for t in treatments.values())
    assert AuditEvent.objects.filter(action="strategy.treatments.applied").count() == 1


def test_running_the_step_twice_for_a_date_gives_the_same_rows_not_twice_as_many(
    cast: Cast, second_manager
) -> None:  # type: ignore[no-untyped-def]
    activate(make_version(cast.manager), cast.manager, second_manager)
    services.strategy_apply(actor="system:test", business_date=TODAY)
    first = list(CaseTreatment.objects.order_by("case_id").values_list("case_id", "rule_key", "next_due_on"))

    services.strategy_apply(actor="system:test", business_date=TODAY)

    assert (
        list(CaseTreatment.objects.order_by("case_id").values_list("case_id", "rule_key", "next_due_on"))
        == first
    )


def test_a_case_keeps_its_treatment_clock_from_day_to_day(cast: Cast, second_manager) -> None:  # type: ignore[no-untyped-def]
    activate(make_version(cast.manager), cast.manager, second_manager)
    services.strategy_apply(actor="system:test", business_date=TODAY)

    later = TODAY + dt.timedelta(days=2)
    services.strategy_apply(actor="system:test", business_date=later)

    treatment = CaseTreatment.objects.get(case=cast.own_case, business_date=later)
    assert treatment.started_on == TODAY
    assert (treatment.next_channel, treatment.next_due_on) == ("visit", TODAY + dt.timedelta(days=5))


def test_a_case_that_changes_rule_starts_the_new_path(cast: Cast, second_manager) -> None:  # type: ignore[no-untyped-def]
    activate(make_version(cast.manager), cast.manager, second_manager)
    services.strategy_apply(actor="system:test", business_date=TODAY)
    Case.objects.filter(pk=cast.own_case.pk).update(days_past_due=75, bucket="M3")

    later = TODAY + dt.timedelta(days=1)
    services.strategy_apply(actor="system:test", business_date=later)

    treatment = CaseTreatment.objects.get(case=cast.own_case, business_date=later)
    assert (treatment.rule_name, treatment.started_on, treatment.next_due_on) == ("Late", later, later)


def test_without_an_active_version_the_step_decides_nothing(cast: Cast) -> None:
    summary = services.strategy_apply(actor="system:test", business_date=TODAY)
    assert "skipped" in summary
    assert not CaseTreatment.objects.exists()


def test_a_registered_score_provider_makes_score_conditions_match(cast: Cast, second_manager) -> None:  # type: ignore[no-untyped-def]
    import polars as pl

    rules = [
        ("High score", "score >= 700", [{"channel": "sms", "day": 0}]),
        ("Rest", "always", [{"channel": "call", "day": 0}]),
    ]
    activate(make_version(cast.manager, rules=rules), cast.manager, second_manager)
    services.strategy_apply(actor="system:test", business_date=TODAY)
    assert {t.rule_name for t in CaseTreatment.objects.all()} == {"Rest"}

    attributes.register_attribute_provider(
        "score", lambda day: pl.DataFrame({"case_id": [cast.own_case.pk], "value": [72050]})
    )
    try:
        services.strategy_apply(actor="system:test", business_date=TODAY)
    finally:
        attributes.unregister_attribute_provider("score")

    assert CaseTreatment.objects.get(case=cast.own_case, business_date=TODAY).rule_name == "High score"
    assert CaseTreatment.objects.get(case=cast.colleagues_case, business_date=TODAY).rule_name == "Rest"


def test_the_last_contact_outcome_and_territory_are_attributes(cast: Cast) -> None:
    from django.utils import timezone

    from doorstep.compliance.models import ContactEvent

    factories.make_territory("锦江片区", "CD001")
    ContactEvent.objects.create(
        case=cast.own_case,
        borrower=cast.own_case.borrower,
        channel="call",
        started_at=timezone.make_aware(dt.datetime(2026, 11, 27, 10)),
        actor_label="collector",
        outcome_code="promise",
        verdict="allowed",
    )
    frame = attributes.case_frame(TODAY).filter(case_id=cast.own_case.pk).to_dicts()[0]

    assert frame["last_contact_outcome"] == "promise"
    assert frame["territory"] == "锦江片区"
    assert frame["overdue_amount"] == 317050
    assert frame["product"] == "CONSUMER"
    assert frame["score"] is None


def test_a_challenger_and_hold_out_split_cases_the_same_way_every_run(cast: Cast, second_manager) -> None:  # type: ignore[no-untyped-def]
    challenger = make_version(
        cast.manager, rules=[("All by call", "always", [{"channel": "call", "day": 0}])], code="calls"
    )
    champion = make_version(cast.manager)
    for _ in range(30):
        factories.make_case(days_past_due=45)
    services.experiment_save(
        actor=cast.manager,
        version_id=champion.pk,
        test_id="calls-vs-visits",
        holdout_share=2000,
        challengers=[{"key": "calls", "name": "Calls", "share": 3000, "source_version_id": challenger.pk}],
    )
    activate(champion, cast.manager, second_manager)

    services.strategy_apply(actor="system:test", business_date=TODAY)
    first = dict(CaseTreatment.objects.values_list("case_id", "arm"))
    services.strategy_apply(actor="system:test", business_date=TODAY + dt.timedelta(days=1))
    second = dict(
        CaseTreatment.objects.filter(business_date=TODAY + dt.timedelta(days=1)).values_list("case_id", "arm")
    )

    assert first == second
    assert {"champion", "calls", "holdout"} <= set(first.values())
    holdout = CaseTreatment.objects.filter(arm="holdout", business_date=TODAY)
    assert holdout.exists() and not any("visit" in t.path for t in holdout)
    assert {t.path for t in CaseTreatment.objects.filter(arm="calls")} == {"call@0"}
    assert next(iter(holdout)).why.startswith("[hold-out, no visits]")


def test_money_in_rules_is_exact_to_the_fen(cast: Cast, second_manager) -> None:  # type: ignore[no-untyped-def]
    rules = [
        ("At least 3170.50", "overdue_amount >= 3170.50", [{"channel": "visit", "day": 0}]),
        ("Rest", "always", [{"channel": "sms", "day": 0}]),
    ]
    activate(make_version(cast.manager, rules=rules), cast.manager, second_manager)
    just_below = factories.make_case(
        overdue_principal="3000.00", overdue_interest="150.00", penalty_interest="20.49"
    )
    services.strategy_apply(actor="system:test", business_date=TODAY)

    assert cast.own_case.overdue_total == Decimal("3170.50")
    assert CaseTreatment.objects.get(case=cast.own_case).rule_name == "At least 3170.50"
    assert CaseTreatment.objects.get(case=just_below).rule_name == "Rest"
