"""The field week of the cast's team: crews, allocation, appointments with notice, answers, cancellations."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from doorstep.collectors.models import CaseAssignment
from doorstep.compliance.services import ContactAction, check
from doorstep.core.models import AuditEvent
from doorstep.core.roles import Role
from doorstep.notify.models import Message
from doorstep.visits import selectors, services
from doorstep.visits.models import BorrowerResponse, Crew, ResponseChannel, Visit, VisitStatus
from tests import factories
from tests.visits.conftest import MONDAY, SHANGHAI, Clock, FieldTeam, certify, local


def schedule_week(field: FieldTeam, committed) -> list[Visit]:  # type: ignore[no-untyped-def]
    supervisor, team = field.cast.supervisor, field.cast.team
    committed(services.visits_allocate, actor=supervisor, day=MONDAY, team_ids=[team.pk])
    committed(services.visits_schedule, actor=supervisor, day=MONDAY, team_ids=[team.pk])
    return list(Visit.objects.order_by("window_start"))


def test_the_team_becomes_one_pair_led_by_its_experienced_collector(field: FieldTeam) -> None:
    crews = services.crews_form(actor=field.cast.supervisor, team=field.cast.team, on=MONDAY)
    assert [(c.lead, c.partner) for c in crews] == [(field.cast.collector, field.cast.other_collector)]
    # Forming again keeps the same crew.
    assert services.crews_form(actor=field.cast.supervisor, team=field.cast.team, on=MONDAY)[0].pk == crews[0].pk


def test_a_collector_without_current_training_is_left_out_of_the_crews(field: FieldTeam) -> None:
    newcomer = factories.make_collector(factories.make_user("newcomer"), field.cast.team, "CD0009")
    certify(newcomer, expires=dt.date(2026, 6, 30))
    crews = services.crews_form(actor=field.cast.supervisor, team=field.cast.team, on=MONDAY)
    assert newcomer not in {m for crew in crews for m in crew.members}


def test_every_due_case_gets_the_crew_with_the_reason_recorded(field: FieldTeam) -> None:
    outcome = services.visits_allocate(actor=field.cast.supervisor, day=MONDAY, team_ids=[field.cast.team.pk])
    assert outcome.allocated == 6
    current = CaseAssignment.objects.filter(case__in=field.cases, ended_at__isnull=True)
    assert {a.collector_id for a in current} == {field.cast.collector.pk}
    moved = current.exclude(case=field.cast.own_case)
    assert all(a.reason.startswith("Field allocation") for a in moved)
    assert AuditEvent.objects.filter(action="visits.cases.allocated").count() == 1


def test_appointments_fit_the_shift_pass_the_gate_and_carry_a_notice(field: FieldTeam, committed) -> None:
    visits = schedule_week(field, committed)
    assert len(visits) == 6
    crew = (field.cast.collector.pk, field.cast.other_collector.pk)
    for visit in visits:
        start, end = visit.window_start.astimezone(SHANGHAI), visit.window_end.astimezone(SHANGHAI)
        assert MONDAY <= start.date() <= MONDAY + dt.timedelta(days=4)
        assert dt.time(9) <= start.time() and end.time() <= dt.time(18) and start.date() == end.date()
        assert (visit.collector_id, visit.partner_id) == crew
        assert visit.status == VisitStatus.SCHEDULED and visit.response == BorrowerResponse.PENDING
        verdict = check(ContactAction(case_id=visit.case_id, channel="visit", start=visit.window_start,
                                      end=visit.window_end, collector_ids=crew))
        assert verdict.allowed, verdict.reasons
        message = Message.objects.get(pk=visit.notice_message_id)
        assert message.channel == "sms" and message.template == "visit_notice"
        assert field.cast.collector.badge_number in message.body
        assert "95580" in message.body
        assert visit.notice_sent_at is not None
    # Six visits and eight a day: they fit on one day, close together.
    assert len({v.window_start.astimezone(SHANGHAI).date() for v in visits}) == 1


def test_the_notice_says_what_the_borrower_needs_in_their_language(field: FieldTeam, committed) -> None:
    visit = schedule_week(field, committed)[0]
    message = Message.objects.get(pk=visit.notice_message_id)
    start = visit.window_start.astimezone(SHANGHAI)
    assert message.language == "zh-hans"
    assert f"{start:%H:%M}" in message.body and start.date().isoformat() in message.body
    assert "绝不收取现金" in message.body
    assert field.cast.other_collector.display_name in message.body


def test_notices_are_never_sent_inside_quiet_hours(field: FieldTeam, clock: Clock, committed) -> None:
    clock.set(local(dt.date(2026, 12, 4), 23, 30))
    visits = schedule_week(field, committed)
    assert visits
    for visit in visits:
        message = Message.objects.get(pk=visit.notice_message_id)
        send = message.send_after.astimezone(SHANGHAI)
        assert dt.time(8) <= send.time() < dt.time(22)
        assert send.date() == dt.date(2026, 12, 5)
        assert visit.notice_sent_at >= message.send_after


def test_a_borrower_flagged_do_not_visit_gets_no_appointment(field: FieldTeam, committed) -> None:
    borrower = field.cases[2].borrower
    borrower.do_not_visit = True
    borrower.save(update_fields=["do_not_visit"])
    outcome_visits = schedule_week(field, committed)
    assert field.cases[2].pk not in {v.case_id for v in outcome_visits}
    assert len(outcome_visits) == 5


def test_a_hostile_borrower_goes_to_an_experienced_crew(field: FieldTeam) -> None:
    cast = field.cast
    elsewhere = factories.make_team(name="外区组", branch_code="CD009")
    newer = [factories.make_collector(factories.make_user(f"n{n}"), elsewhere, f"CD01{n}") for n in range(2)]
    hostile_case = field.cases[3]
    Visit.objects.create(
        case=hostile_case, borrower=hostile_case.borrower, status=VisitStatus.COMPLETED, purpose="x",
        window_start=local(dt.date(2026, 11, 2), 10), window_end=local(dt.date(2026, 11, 2), 12),
        collector=newer[0], partner=newer[1], attitude="hostile", created_by_label="test",
    )
    services.visits_allocate(actor=cast.supervisor, day=MONDAY, team_ids=[cast.team.pk])
    assignment = CaseAssignment.objects.get(case=hostile_case, ended_at__isnull=True)
    assert assignment.collector == cast.collector  # the experienced lead, not the crew that met hostility
    assert "experienced" in assignment.reason


def test_only_the_team_lead_or_a_manager_allocates(field: FieldTeam) -> None:
    with pytest.raises(PermissionDenied):
        services.visits_allocate(actor=field.cast.collector_user, day=MONDAY)
    other_lead = factories.make_user("lead2", Role.SUPERVISOR)
    with pytest.raises(PermissionDenied):
        services.visits_allocate(actor=other_lead, day=MONDAY, team_ids=[field.cast.team.pk])


def test_the_borrower_confirms_by_phone(field: FieldTeam, committed) -> None:
    visit = schedule_week(field, committed)[0]
    answered = committed(services.visit_answer_record, actor=field.cast.supervisor, visit_id=visit.pk,
                                            answer=BorrowerResponse.CONFIRMED, channel=ResponseChannel.PHONE)
    assert answered.pk == visit.pk
    assert answered.response == BorrowerResponse.CONFIRMED and answered.response_channel == ResponseChannel.PHONE
    assert AuditEvent.objects.filter(action="visits.visit.answered", object_id=str(visit.pk)).exists()


def test_declining_needs_a_reason(field: FieldTeam, committed) -> None:
    visit = schedule_week(field, committed)[0]
    with pytest.raises(ValidationError):
        committed(services.visit_answer_record, actor=field.cast.collector_user, visit_id=visit.pk,
                                     answer=BorrowerResponse.DECLINED, channel=ResponseChannel.PHONE)
    declined = committed(services.visit_answer_record, actor=field.cast.collector_user, visit_id=visit.pk,
                                            answer=BorrowerResponse.DECLINED, channel=ResponseChannel.PHONE,
                                            note="在外地出差")
    assert declined.response == BorrowerResponse.DECLINED and declined.response_note == "在外地出差"


def test_moving_to_an_offered_window_makes_a_new_visit(field: FieldTeam, committed) -> None:
    visit = schedule_week(field, committed)[0]
    slots = selectors.visit_slots(visit=visit)
    assert slots and all(s[0] != visit.window_start for s in slots)
    new_start = slots[-1][0]
    new = committed(services.visit_answer_record, actor=f"borrower:{visit.borrower_id}", visit_id=visit.pk,
                                       answer=BorrowerResponse.RESCHEDULED, channel=ResponseChannel.PORTAL,
                                       new_window_start=new_start)
    visit.refresh_from_db()
    assert visit.status == VisitStatus.CANCELLED and visit.response == BorrowerResponse.RESCHEDULED
    assert new.rescheduled_from == visit and new.window_start == new_start
    assert new.response == BorrowerResponse.CONFIRMED
    new.refresh_from_db()
    assert new.notice_message_id is not None


def test_a_time_not_on_offer_is_refused(field: FieldTeam, committed) -> None:
    visit = schedule_week(field, committed)[0]
    with pytest.raises(ValidationError):
        committed(services.visit_answer_record, actor=field.cast.supervisor, visit_id=visit.pk,
                                     answer=BorrowerResponse.RESCHEDULED, channel=ResponseChannel.PHONE,
                                     new_window_start=local(MONDAY, 23))


def test_another_borrower_cannot_answer(field: FieldTeam, committed) -> None:
    visit = schedule_week(field, committed)[0]
    with pytest.raises(PermissionDenied):
        committed(services.visit_answer_record, actor=f"borrower:{visit.borrower_id + 1000}", visit_id=visit.pk,
                                     answer=BorrowerResponse.CONFIRMED, channel=ResponseChannel.PORTAL)


def test_a_settled_case_loses_its_visits_and_the_borrower_is_told(field: FieldTeam, committed) -> None:
    visits = schedule_week(field, committed)
    case_id = visits[0].case_id
    assert committed(services.visits_cancel_for_case, actor="system:daily", case_id=case_id, reason="Paid in full") == 1
    cancelled = Visit.objects.get(pk=visits[0].pk)
    assert cancelled.status == VisitStatus.CANCELLED and cancelled.cancel_reason == "Paid in full"
    assert Message.objects.filter(template="visit_cancelled", case_id=case_id).count() == 1
    assert committed(services.visits_cancel_for_case, actor="system:daily", case_id=case_id, reason="Paid in full") == 0


def test_reassigning_a_visit_to_another_crew(field: FieldTeam, committed) -> None:
    cast = field.cast
    visit = schedule_week(field, committed)[0]
    pair = [factories.make_collector(factories.make_user(f"p{n}"), cast.team, f"CD02{n}") for n in range(2)]
    for collector in pair:
        certify(collector)
    crew = Crew.objects.create(team=cast.team, lead=pair[0], partner=pair[1])
    with pytest.raises(ValidationError):
        committed(services.visit_reassign, actor=cast.supervisor, visit_id=visit.pk, crew_id=crew.pk, reason=" ")
    moved = committed(services.visit_reassign, actor=cast.supervisor, visit_id=visit.pk, crew_id=crew.pk, reason="路线更近")
    assert (moved.collector_id, moved.partner_id) == (pair[0].pk, pair[1].pk)


def test_a_case_goes_only_to_a_field_ready_collector_of_its_territory(field: FieldTeam, committed) -> None:
    from decimal import Decimal

    cast = field.cast
    visit = schedule_week(field, committed)[0]
    before = CaseAssignment.objects.get(case_id=visit.case_id, ended_at__isnull=True)
    newcomer = factories.make_collector(factories.make_user("newcomer"), cast.team, "CD0031")
    with pytest.raises(ValidationError, match="lacks a valid certificate: Annual refresher, Pre-job training"):
        committed(services.case_reassign, actor=cast.supervisor, case_id=visit.case_id, collector_id=newcomer.pk,
                  reason="借款人要求更换")
    certify(newcomer)
    far = factories.make_territory()
    far.centre_latitude, far.centre_longitude, far.radius_km = Decimal("39.9"), Decimal("116.4"), Decimal("10")
    far.save()
    newcomer.territories.add(far)
    with pytest.raises(ValidationError, match="does not work the borrower's territory"):
        committed(services.case_reassign, actor=cast.supervisor, case_id=visit.case_id, collector_id=newcomer.pk,
                  reason="借款人要求更换")
    assert CaseAssignment.objects.get(case_id=visit.case_id, ended_at__isnull=True) == before
    assert not AuditEvent.objects.filter(action="collectors.case.reassigned", object_id=str(visit.case_id)).exists()


def test_a_case_whose_visits_cannot_follow_stays_where_it_was(field: FieldTeam, committed) -> None:
    cast = field.cast
    visit = schedule_week(field, committed)[0]
    before = CaseAssignment.objects.get(case_id=visit.case_id, ended_at__isnull=True)
    lead = factories.make_collector(factories.make_user("crew-lead"), cast.team, "CD0032")
    partner = factories.make_collector(factories.make_user("crew-partner"), cast.team, "CD0033")
    certify(lead)  # the partner holds no certificate, so the gate refuses the crew at the door
    Crew.objects.create(team=cast.team, lead=lead, partner=partner)
    with pytest.raises(ValidationError, match="does not allow this crew"):
        committed(services.case_reassign, actor=cast.supervisor, case_id=visit.case_id, collector_id=lead.pk,
                  reason="借款人要求更换")
    assert CaseAssignment.objects.get(case_id=visit.case_id, ended_at__isnull=True) == before
    assert Visit.objects.get(pk=visit.pk).collector_id == visit.collector_id


def test_badge_check_answers_the_same_shape_for_unknown_badges(field: FieldTeam, committed) -> None:
    visit = schedule_week(field, committed)[0]
    during = visit.window_start + dt.timedelta(minutes=30)
    known = selectors.badge_check(badge_number=field.cast.other_collector.badge_number,
                                  borrower_id=visit.borrower_id, at=during)
    assert known.found and known.on_duty and known.assigned_to_borrower and known.visit == visit
    assert known.team_name == field.cast.team.name
    unknown = selectors.badge_check(badge_number="XX9999", borrower_id=visit.borrower_id, at=during)
    assert not unknown.found and unknown.collector is None and unknown.visit is None
    assert set(vars(unknown)) == set(vars(known))


def test_borrower_visits_lists_theirs_only(field: FieldTeam, committed) -> None:
    visits = schedule_week(field, committed)
    mine = selectors.borrower_visits(borrower_id=visits[0].borrower_id)
    assert list(mine) == [visits[0]]


def test_the_daily_step_cancels_visits_of_cases_settled_since(field: FieldTeam, committed) -> None:
    from doorstep.visits.flows import field_day_prepare

    visits = schedule_week(field, committed)
    settled = visits[1].case
    settled.status = "cured"
    settled.save(update_fields=["status"])
    summary = committed(field_day_prepare, actor="system:daily", day=MONDAY)
    assert summary["cancelled"] == 1
    assert Visit.objects.get(pk=visits[1].pk).status == VisitStatus.CANCELLED
    assert Message.objects.filter(template="visit_cancelled", case=settled).count() == 1
    # The other cases already have their visits: nothing new is scheduled.
    assert summary["scheduled"] == 0


def test_a_lead_acknowledges_an_alert(field: FieldTeam) -> None:
    from doorstep.visits.models import VisitAlert

    alert = VisitAlert.objects.create(kind="sos", collector=field.cast.other_collector, note="help")
    with pytest.raises(PermissionDenied):
        services.alert_acknowledge(actor=field.cast.collector_user, alert_id=alert.pk)
    done = services.alert_acknowledge(actor=field.cast.supervisor, alert_id=alert.pk)
    assert done.acknowledged_by == field.cast.supervisor and done.acknowledged_at is not None


def test_a_day_whose_shift_is_over_takes_no_appointments(field: FieldTeam, clock: Clock, committed) -> None:
    clock.set(local(MONDAY, 17, 30))  # Monday's last window has begun: nothing more can start today
    visits = schedule_week(field, committed)
    assert visits
    assert all(v.window_start.astimezone(SHANGHAI).date() > MONDAY for v in visits)
