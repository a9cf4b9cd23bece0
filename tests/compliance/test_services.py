"""The gate against the database: the ledger, overrides, rule set versions, retention."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.http import Http404
from django.utils import translation

from doorstep.compliance import check, services
from doorstep.compliance.models import Agency, BorrowerCompliance, ContactEvent, RuleSet, Verdict
from doorstep.core.models import AuditEvent
from doorstep.core.roles import Role
from tests import factories
from tests.compliance.conftest import certify, field_visit, local, phone_call
from tests.conftest import Cast

NEW_YORK = ZoneInfo("America/New_York")


def record(cast_actor, action, **outcome):
    event, verdict = services.contact_record(actor=cast_actor, action=action, **outcome)
    return event, verdict


def test_an_allowed_call_is_recorded_with_its_rule_set_version_and_audited(certified: Cast) -> None:
    action = phone_call(certified.own_case, local("2026-11-30T10:00:00"), certified.collector)
    verdict = check(action)
    assert verdict.allowed
    assert verdict.rule_set_version == "CN-v1"
    event, _ = record(certified.collector_user, action, connected=True, right_party=True)
    assert event.verdict == Verdict.ALLOWED
    assert event.rule_set_version == "CN-v1"
    assert event.team == certified.team
    assert list(event.collectors.all()) == [certified.collector]
    assert AuditEvent.objects.filter(action="compliance.contact.allowed", object_id=str(event.pk)).exists()
    assert BorrowerCompliance.objects.get(borrower=certified.own_case.borrower).first_contact_at == action.start


def test_a_call_at_ten_at_night_is_refused_recorded_and_explained_in_chinese(certified: Cast) -> None:
    action = phone_call(certified.own_case, local("2026-11-30T22:00:00"), certified.collector)
    event, verdict = record(certified.collector_user, action)
    assert not verdict.allowed
    assert verdict.earliest_allowed == local("2026-12-01T08:00:00")
    assert event.verdict == Verdict.REFUSED
    assert [hit["rule_id"] for hit in event.rules_fired] == ["CN-T1"]
    assert event.earliest_allowed == local("2026-12-01T08:00:00")
    with translation.override("en"):
        assert "08:00–22:00" in verdict.reasons[0]["reason"]
    with translation.override("zh-hans"):
        assert "允许联系时段" in verdict.reasons[0]["reason"]
    assert AuditEvent.objects.filter(action="compliance.contact.refused").count() == 1


def test_connected_calls_count_across_the_bank_and_its_agencies(certified: Cast) -> None:
    agency_lead = factories.make_user("agency-lead", Role.SUPERVISOR)
    agency_team = factories.make_team("外包一组", supervisor=agency_lead)
    agency = Agency.objects.create(name="成都某催收公司")
    agency.teams.add(agency_team)
    agent = factories.make_collector(factories.make_user("agent", Role.COLLECTOR), agency_team, "AG0001")
    certify(agent)
    services.borrower_facts_update(
        actor=certified.manager, borrower=certified.own_case.borrower, reason="委外通知已寄出",
        outsourced_to=agency.name, outsourcing_notice_at=local("2026-11-01T10:00:00"),
    )
    case = certified.own_case
    record(certified.collector_user, phone_call(case, local("2026-11-30T09:00:00"), certified.collector), connected=True)
    record(agent.user, phone_call(case, local("2026-11-30T10:00:00"), agent, phone="13900000002"), connected=True)
    record(certified.collector_user, phone_call(case, local("2026-11-30T11:00:00"), certified.collector), connected=True)
    fourth = check(phone_call(case, local("2026-11-30T15:00:00"), agent, phone="13900000003"))
    assert not fourth.allowed
    assert fourth.rule_ids == ("CN-F2",)


def test_an_agency_needs_the_outsourcing_notice_first(certified: Cast) -> None:
    agency_team = factories.make_team("外包二组")
    Agency.objects.create(name="某外包公司").teams.add(agency_team)
    agent = factories.make_collector(factories.make_user("agent2", Role.COLLECTOR), agency_team)
    certify(agent)
    verdict = check(phone_call(certified.own_case, local("2026-11-30T10:00:00"), agent))
    assert verdict.rule_ids == ("CN-ID1",)


def test_recording_rejudges_under_the_lock_so_two_collectors_cannot_take_the_last_call(certified: Cast) -> None:
    case = certified.own_case
    for hour in (9, 10):
        record(certified.collector_user, phone_call(case, local(f"2026-11-30T{hour:02d}:00:00"), certified.collector), connected=True)
    mine = phone_call(case, local("2026-11-30T11:00:00"), certified.collector)
    theirs = phone_call(case, local("2026-11-30T11:05:00"), certified.other_collector)
    assert check(mine).allowed and check(theirs).allowed  # both see two of three used
    first, _ = record(certified.collector_user, mine, connected=True)
    second, verdict = record(certified.other_collector_user, theirs)
    assert first.verdict == Verdict.ALLOWED
    assert second.verdict == Verdict.REFUSED
    assert verdict.rule_ids == ("CN-F2",)


def test_an_untrained_collector_is_refused_until_certified(cast: Cast) -> None:
    action = phone_call(cast.own_case, local("2026-11-30T10:00:00"), cast.collector)
    assert set(check(action).rule_ids) == {"CN-A2"}
    certify(cast.collector)
    assert check(action).allowed


# ---------------------------------------------------------------- overrides


def one_collector_visit(cast: Cast):
    action = field_visit(cast.own_case, local("2026-11-30T10:00:00"), cast.collector)
    event, verdict = record(cast.collector_user, action)
    return event, verdict


def test_a_team_lead_overrides_an_overridable_refusal_with_a_written_reason(certified: Cast) -> None:
    event, verdict = one_collector_visit(certified)
    assert verdict.rule_ids == ("CN-V1",)
    assert verdict.overridable
    services.contact_override(actor=certified.supervisor, contact_event=event, reason="同事临时病假，经电话确认由我陪同前往")
    event.refresh_from_db()
    assert event.verdict == Verdict.OVERRIDDEN
    assert event.overridden_by == certified.supervisor
    audit = AuditEvent.objects.get(action="compliance.contact.overridden")
    assert audit.data["rules"] == ["CN-V1"]
    assert audit.actor == certified.supervisor


@pytest.mark.parametrize("who", ["collector_user", "compliance", "outsider"])
def test_only_a_team_lead_may_override(certified: Cast, who: str) -> None:
    event, _ = one_collector_visit(certified)
    with pytest.raises(PermissionDenied):
        services.contact_override(actor=getattr(certified, who), contact_event=event, reason="a long enough reason")
    event.refresh_from_db()
    assert event.verdict == Verdict.REFUSED


def test_a_team_lead_of_another_team_cannot_see_the_contact_to_override_it(certified: Cast) -> None:
    event, _ = one_collector_visit(certified)
    stranger = factories.make_user("other-lead", Role.SUPERVISOR)
    factories.make_team("别的组", supervisor=stranger)
    with pytest.raises(Http404):
        services.contact_override(actor=stranger, contact_event=event, reason="a long enough reason")


def test_some_rules_never_allow_an_override_and_a_reason_is_required(certified: Cast) -> None:
    late, _ = record(certified.collector_user, phone_call(certified.own_case, local("2026-11-30T23:00:00"), certified.collector))
    with pytest.raises(ValidationError, match="CN-T1"):
        services.contact_override(actor=certified.supervisor, contact_event=late, reason="borrower asked for a late call")
    visit, _ = one_collector_visit(certified)
    with pytest.raises(ValidationError):
        services.contact_override(actor=certified.supervisor, contact_event=visit, reason="ok")
    assert not ContactEvent.objects.filter(verdict=Verdict.OVERRIDDEN).exists()
    assert not AuditEvent.objects.filter(action="compliance.contact.overridden").exists()


# ---------------------------------------------------------------- rule sets


def test_compliance_edits_a_rule_and_a_new_version_judges_from_then_on(certified: Cast) -> None:
    action = phone_call(certified.own_case, local("2026-11-30T21:30:00"), certified.collector)
    assert check(action).allowed
    new = services.ruleset_publish(
        actor=certified.compliance,
        jurisdiction="CN",
        changes={"CN-T1": {"params": {"allowed_start": "08:00", "allowed_end": "21:00", "consent_waives": True}}},
        note="本行政策：21:00 后不再联系",
    )
    assert new.label == "CN-v2"
    assert list(RuleSet.objects.filter(jurisdiction="CN").values_list("version", "is_active")) == [(2, True), (1, False)]
    verdict = check(action)
    assert verdict.rule_ids == ("CN-T1",)
    assert verdict.rule_set_version == "CN-v2"
    audit = AuditEvent.objects.get(action="compliance.ruleset.published")
    assert audit.data["changes"]["CN-T1"]["before"]["params"]["allowed_end"] == "22:00"


@pytest.mark.parametrize(
    "changes",
    [
        {"CN-T1": {"params": {"allowed_start": "22:00", "allowed_end": "08:00"}}},
        {"CN-F2": {"params": {"max_per_day": "three"}}},
        {"CN-XX": {"enabled": False}},
        {"CN-T1": {"overridable": True}},
        {},
    ],
)
def test_bad_rule_edits_are_refused_and_change_nothing(certified: Cast, changes: dict) -> None:
    with pytest.raises(ValidationError):
        services.ruleset_publish(actor=certified.compliance, jurisdiction="CN", changes=changes, note="试验")
    assert RuleSet.objects.get(jurisdiction="CN", is_active=True).version == 1


def test_a_collector_cannot_edit_rules(certified: Cast) -> None:
    with pytest.raises(PermissionDenied):
        services.ruleset_publish(actor=certified.collector_user, jurisdiction="CN", changes={"CN-F1": {"enabled": False}}, note="x")


def test_a_case_can_be_judged_under_another_jurisdiction(certified: Cast) -> None:
    borrower = certified.own_case.borrower
    borrower.time_zone = "America/New_York"
    borrower.save()
    services.case_jurisdiction_set(actor=certified.compliance, case=certified.own_case, jurisdiction="US", reason="US loan")
    # 21:30 in New York is fine under China's rules but not under FDCPA hours.
    verdict = check(phone_call(certified.own_case, local("2026-11-30T21:30:00", NEW_YORK), certified.collector))
    assert verdict.rule_set_version == "US-v1"
    assert verdict.rule_ids == ("US-T1",)


# ---------------------------------------------------------------- borrower facts


def test_borrower_requests_are_honoured(certified: Cast) -> None:
    borrower = certified.own_case.borrower
    objector = "13900009999"
    from doorstep.core.crypto import lookup_hash

    services.borrower_facts_update(
        actor=certified.supervisor, borrower=borrower, reason="借款人上夜班，要求傍晚联系",
        contact_windows=[{"weekdays": [1, 2, 3, 4, 5], "opens": "18:00", "closes": "20:00"}],
        do_not_contact=[lookup_hash(objector)],
    )
    morning = check(phone_call(certified.own_case, local("2026-11-30T10:00:00"), certified.collector))
    assert morning.rule_ids == ("FLAG-WINDOW",)
    assert morning.earliest_allowed == local("2026-11-30T18:00:00")
    third_party = check(
        phone_call(certified.own_case, local("2026-11-30T18:30:00"), certified.collector, phone=objector,
                   target="third_party", purpose="locate")
    )
    assert "FLAG-DNC" in third_party.rule_ids
    assert AuditEvent.objects.filter(action="compliance.borrower.facts_updated").count() == 1


def test_bad_borrower_facts_are_refused(certified: Cast) -> None:
    with pytest.raises(ValidationError):
        services.borrower_facts_update(
            actor=certified.supervisor, borrower=certified.own_case.borrower, reason="x",
            contact_windows=[{"weekdays": [1], "opens": "20:00", "closes": "18:00"}],
        )
    with pytest.raises(ValidationError):
        services.borrower_facts_update(actor=certified.supervisor, borrower=certified.own_case.borrower, reason="x", shoe_size=42)
    assert not BorrowerCompliance.objects.exists()


def test_portfolio_flags_hold(certified: Cast) -> None:
    borrower = certified.own_case.borrower
    borrower.has_dispute = True
    borrower.save()
    verdict = check(phone_call(certified.own_case, local("2026-11-30T10:00:00"), certified.collector))
    assert verdict.rule_ids == ("FLAG-DISPUTE",)
    assert verdict.earliest_allowed is None


# ---------------------------------------------------------------- speed and batches


def test_check_reads_the_ledger_in_one_query(certified: Cast, django_assert_num_queries) -> None:
    case = certified.own_case
    for hour in (9, 10):
        record(certified.collector_user, phone_call(case, local(f"2026-11-30T{hour:02d}:00:00"), certified.collector), connected=False)
    action = phone_call(case, local("2026-11-30T11:00:00"), certified.collector)
    check(action)  # warms the rule set and collector caches
    with django_assert_num_queries(1):
        verdict = check(action)
    assert verdict.allowed


def test_check_many_agrees_with_check_and_uses_one_query(certified: Cast, django_assert_num_queries) -> None:
    for hour in range(9, 15):
        record(certified.collector_user, phone_call(certified.own_case, local(f"2026-11-30T{hour:02d}:00:00"), certified.collector), connected=False)
    actions = [
        phone_call(certified.own_case, local("2026-11-30T16:00:00"), certified.collector),
        phone_call(certified.colleagues_case, local("2026-11-30T16:00:00"), certified.other_collector),
        phone_call(certified.other_team_case, local("2026-11-30T23:00:00")),
    ]
    singles = [check(action) for action in actions]
    with django_assert_num_queries(1):
        batch = services.check_many(actions)
    assert [v.rule_ids for v in batch] == [v.rule_ids for v in singles] == [("CN-F1",), (), ("CN-T1",)]


def test_an_unknown_case_or_bad_action_is_a_clear_error(certified: Cast) -> None:
    with pytest.raises(ValidationError):
        check(phone_call(certified.own_case, local("2026-11-30T10:00:00"), certified.collector, target="neighbour"))
    with pytest.raises(ValidationError):
        check(phone_call(certified.own_case, dt.datetime(2026, 11, 30, 10), certified.collector))
    with pytest.raises(ValidationError):
        check(services.ContactAction(case_id=987654, channel="call", start=local("2026-11-30T10:00:00")))


# ---------------------------------------------------------------- retention


def old_contact(cast: Cast, when: dt.datetime, channel: str = "call") -> ContactEvent:
    event, _ = record(cast.collector_user, phone_call(cast.own_case, when, cast.collector, relation="本人") if channel == "call"
                      else field_visit(cast.own_case, when, cast.collector, cast.other_collector))
    return event


def test_retention_anonymises_what_has_passed_the_longest_period_and_says_so(certified: Cast) -> None:
    ancient = old_contact(certified, local("2021-06-01T10:00:00"))
    recent = old_contact(certified, local("2023-06-01T10:00:00"))
    dry = services.retention_run(actor="system:test", today=dt.date(2026, 11, 30), dry_run=True)
    assert (dry.anonymised, dry.purged) == (1, 0)
    ancient.refresh_from_db()
    assert ancient.anonymised_at is None and ancient.contact_point_hash
    run = services.retention_run(actor="system:test", today=dt.date(2026, 11, 30), dry_run=False)
    assert run.anonymised == 1
    # CN keeps call recordings 2 years and collection records 5: the longer period wins.
    assert run.details["CN/call"]["rule"] == "CN-R2"
    verdict_before = ancient.verdict
    ancient.refresh_from_db()
    recent.refresh_from_db()
    assert ancient.anonymised_at is not None and ancient.contact_point_hash == "" and ancient.target_relation == ""
    assert ancient.verdict == verdict_before and ancient.rules_fired  # the evidence stays
    assert recent.anonymised_at is None
    assert AuditEvent.objects.filter(action="compliance.retention.ran").exists()
    again = services.retention_run(actor="system:test", today=dt.date(2026, 11, 30), dry_run=False)
    assert again.anonymised == 0


def test_the_retention_command_reports_what_it_did(certified: Cast, capsys) -> None:
    old_contact(certified, local("2020-01-01T10:00:00"))
    call_command("retention", "--dry-run", "--today", "2026-11-30")
    assert "would anonymise 1 and purge 0" in capsys.readouterr().out
    assert ContactEvent.objects.filter(anonymised_at__isnull=True).count() == 1
    call_command("retention", "--today", "2026-11-30")
    assert "did anonymise 1" in capsys.readouterr().out


def test_the_retention_task_runs_the_same_service(certified: Cast, settings) -> None:
    from doorstep.compliance.tasks import retention_nightly

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    old_contact(certified, local("2020-01-01T10:00:00"))
    result = retention_nightly.enqueue(today="2026-11-30")
    assert result.return_value["anonymised"] == 1


def test_a_borrower_in_another_time_zone_is_judged_on_local_time(certified: Cast) -> None:
    borrower = certified.own_case.borrower
    borrower.time_zone = "Asia/Urumqi"  # Beijing time minus two hours
    borrower.save()
    late_in_beijing = local("2026-11-30T22:30:00")
    assert check(phone_call(certified.own_case, late_in_beijing, certified.collector)).allowed
    early = check(phone_call(certified.own_case, local("2026-11-30T09:00:00"), certified.collector))
    assert early.rule_ids == ("CN-T1",)
    assert early.earliest_allowed == local("2026-11-30T10:00:00")


def test_a_us_third_party_is_asked_once_even_in_a_planners_batch(certified: Cast) -> None:
    borrower = certified.own_case.borrower
    borrower.time_zone = "America/New_York"
    borrower.save()
    services.case_jurisdiction_set(actor=certified.compliance, case=certified.own_case, jurisdiction="US", reason="US loan")
    neighbour = dict(phone="12125550100", target="third_party", purpose="locate")
    first, _ = record(certified.collector_user, phone_call(certified.own_case, local("2026-11-02T10:00:00", NEW_YORK), certified.collector, **neighbour))
    assert first.verdict == Verdict.ALLOWED
    again = phone_call(certified.own_case, local("2026-11-30T10:00:00", NEW_YORK), certified.collector, **neighbour)
    single = check(again)
    batch = services.check_many([again])[0]
    # Without a validation notice five days after the first communication, US-V1 refuses as well.
    assert single.rule_ids == batch.rule_ids == ("US-3P1", "US-V1")
    services.borrower_facts_update(
        actor=certified.compliance, borrower=borrower, reason="validation notice mailed",
        validation_notice_at=local("2026-11-03T10:00:00", NEW_YORK),
    )
    assert check(again).rule_ids == services.check_many([again])[0].rule_ids == ("US-3P1",)
