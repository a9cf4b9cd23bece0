"""Ratings and the complaint workflow, told as stories with the usual cast."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from doorstep.compliance.services import ContactAction, check
from doorstep.core.models import AuditEvent
from doorstep.feedback import services
from doorstep.feedback.models import (
    COMPLAINT_TRANSITIONS,
    ComplaintEvent,
    ComplaintEventKind,
    ComplaintOutcome,
    ComplaintStatus,
    VisitRating,
)
from doorstep.feedback.selectors import borrower_complaints, complaint_clock, visit_feedback
from doorstep.visits.models import VisitStatus
from tests.conftest import Cast
from tests.feedback.conftest import certify, frozen
from tests.feedback.factories import file_complaint, local, make_visit, photo

DECISION = "经调取执法记录仪录音核实，催收员确有不当言辞。"


# ---------------------------------------------------------------- ratings


def test_a_borrower_rates_a_visit_once(cast: Cast) -> None:
    visit = make_visit(cast.own_case, cast.collector)
    rating = services.rating_record(actor=f"borrower:{visit.borrower_id}", visit=visit, stars=4, comment="态度很好")
    assert rating.stars == 4 and rating.source == "portal"
    assert AuditEvent.objects.filter(action="feedback.rating.recorded", object_id=str(rating.pk)).exists()
    with pytest.raises(ValidationError, match="already been rated"):
        services.rating_record(actor=f"borrower:{visit.borrower_id}", visit=visit, stars=1)
    assert VisitRating.objects.get(visit=visit).stars == 4


@pytest.mark.parametrize("stars", [0, 6, -1, True])
def test_stars_run_from_one_to_five(cast: Cast, stars: int) -> None:
    visit = make_visit(cast.own_case, cast.collector)
    with pytest.raises(ValidationError):
        services.rating_record(actor="borrower:1", visit=visit, stars=stars)


def test_a_visit_that_never_happened_cannot_be_rated(cast: Cast) -> None:
    visit = make_visit(cast.own_case, cast.collector, status=VisitStatus.SCHEDULED)
    with pytest.raises(ValidationError, match="took place"):
        services.rating_record(actor="borrower:1", visit=visit, stars=5)


# ---------------------------------------------------------------- filing


def test_a_complaint_about_a_visit_names_its_collector_team_and_deadlines(cast: Cast, django_capture_on_commit_callbacks) -> None:
    visit = make_visit(cast.own_case, cast.collector)
    # A Friday evening.
    with frozen(local("2026-11-27T17:30")), django_capture_on_commit_callbacks(execute=True):
        complaint = services.complaint_file(
            actor=f"borrower:{cast.own_case.borrower_id}", borrower=cast.own_case.borrower,
            category="threat_insult", text="在门口大声辱骂", channel="portal", visit=visit,
            attachments=[photo()],
        )
    assert complaint.case == cast.own_case
    assert complaint.collector == cast.collector
    assert complaint.team == cast.team
    assert complaint.status == ComplaintStatus.RECEIVED
    assert complaint.acknowledge_due_at == local("2026-11-30T17:30")  # Monday, not Saturday
    assert complaint.decide_due_at == local("2026-12-12T17:30")
    attachment = complaint.attachments.get()
    assert len(attachment.sha256) == 64 and attachment.size_bytes == len(b"\xff\xd8\xff\xe0 a photo")
    assert attachment.file.read() == b"\xff\xd8\xff\xe0 a photo"
    assert [event.kind for event in complaint.events.all()] == [ComplaintEventKind.FILED]
    assert list(borrower_complaints(borrower=cast.own_case.borrower)) == [complaint]
    assert visit_feedback(visit=visit).complaints == [complaint]


def test_staff_log_a_complaint_received_by_phone(cast: Cast) -> None:
    complaint = file_complaint(cast.own_case, channel="phone", actor=cast.compliance, category="other")
    assert complaint.filed_by_label == cast.compliance.username
    assert complaint.events.get().actor == cast.compliance


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"category": "rude"}, "category"),
        ({"channel": "fax"}, "channel"),
        ({"text": "   "}, "text"),
    ],
)
def test_a_complaint_needs_a_category_a_channel_and_a_text(cast: Cast, fields: dict, error: str) -> None:
    arguments = {"category": "other", "channel": "portal", "text": "不满意", **fields}
    with pytest.raises(ValidationError) as raised:
        services.complaint_file(actor="borrower:1", borrower=cast.own_case.borrower, **arguments)
    assert error in raised.value.message_dict


def test_a_visit_to_someone_else_cannot_be_complained_about(cast: Cast) -> None:
    visit = make_visit(cast.colleagues_case, cast.other_collector)
    with pytest.raises(ValidationError) as raised:
        file_complaint(cast.own_case, visit=visit)
    assert "visit" in raised.value.message_dict


def test_attachments_must_be_photos_recordings_or_documents(cast: Cast) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    script = SimpleUploadedFile("x.html", b"<script>", content_type="text/html")
    with pytest.raises(ValidationError):
        services.complaint_file(actor="borrower:1", borrower=cast.own_case.borrower, category="other",
                                text="见附件", channel="portal", attachments=[script])


# ---------------------------------------------------------------- the workflow


def test_the_workflow_from_receipt_to_an_upheld_decision_tells_the_borrower_each_step(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:
    with frozen(local("2026-11-23T09:00")):
        complaint = file_complaint(cast.own_case)
    with frozen(local("2026-11-23T15:00")):
        services.complaint_acknowledge(actor=cast.compliance, complaint_id=complaint.pk)
        services.complaint_investigate(actor=cast.compliance, complaint_id=complaint.pk, note="调取录音")
    with frozen(local("2026-11-25T11:00")), django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.complaint_resolve(actor=cast.compliance, complaint_id=complaint.pk,
                                   outcome=ComplaintOutcome.UPHELD, resolution=DECISION)
    assert len(callbacks) == 1  # the message to the borrower, after commit
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.RESOLVED
    assert complaint.outcome == ComplaintOutcome.UPHELD
    assert complaint.handler == cast.compliance
    assert complaint.acknowledge_breached_at is None and complaint.decide_breached_at is None
    kinds = [event.kind for event in complaint.events.all()]
    assert kinds[:4] == ["filed", "acknowledged", "investigating", "resolved"]
    assert AuditEvent.objects.filter(action="feedback.complaint.resolved", object_id=str(complaint.pk)).exists()


@pytest.mark.parametrize(
    ("status", "step"),
    [
        (ComplaintStatus.RECEIVED, "investigate"),
        (ComplaintStatus.RECEIVED, "resolve"),
        (ComplaintStatus.ACKNOWLEDGED, "acknowledge"),
        (ComplaintStatus.ACKNOWLEDGED, "resolve"),
        (ComplaintStatus.RESOLVED, "reject"),
        (ComplaintStatus.REJECTED, "acknowledge"),
    ],
)
def test_steps_out_of_order_are_refused(cast: Cast, status: str, step: str) -> None:
    complaint = file_complaint(cast.own_case)
    complaint.status = status
    complaint.outcome = ComplaintOutcome.UPHELD if status == ComplaintStatus.RESOLVED else ""
    complaint.save()
    actions = {
        "acknowledge": lambda: services.complaint_acknowledge(actor=cast.compliance, complaint_id=complaint.pk),
        "investigate": lambda: services.complaint_investigate(actor=cast.compliance, complaint_id=complaint.pk),
        "resolve": lambda: services.complaint_resolve(actor=cast.compliance, complaint_id=complaint.pk,
                                                      outcome="not_upheld", resolution=DECISION),
        "reject": lambda: services.complaint_reject(actor=cast.compliance, complaint_id=complaint.pk,
                                                    reason="重复投诉，已在另一编号处理"),
    }
    with pytest.raises(ValidationError, match="cannot become"):
        actions[step]()
    complaint.refresh_from_db()
    assert complaint.status == status


def test_the_transitions_table_ends_in_a_decision() -> None:
    assert COMPLAINT_TRANSITIONS[ComplaintStatus.RESOLVED] == frozenset()
    assert COMPLAINT_TRANSITIONS[ComplaintStatus.REJECTED] == frozenset()
    for status in (ComplaintStatus.RECEIVED, ComplaintStatus.ACKNOWLEDGED, ComplaintStatus.INVESTIGATING):
        assert ComplaintStatus.REJECTED in COMPLAINT_TRANSITIONS[status]


def test_a_complaint_is_rejected_with_a_reason(cast: Cast) -> None:
    complaint = file_complaint(cast.own_case)
    with pytest.raises(ValidationError):
        services.complaint_reject(actor=cast.compliance, complaint_id=complaint.pk, reason="不")
    services.complaint_reject(actor=cast.compliance, complaint_id=complaint.pk, reason="与编号TS-1重复，已合并处理")
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.REJECTED and complaint.decided_at is not None


def test_only_someone_who_may_handle_complaints_is_assigned(cast: Cast) -> None:
    complaint = file_complaint(cast.own_case)
    with pytest.raises(ValidationError):
        services.complaint_assign(actor=cast.compliance, complaint_id=complaint.pk, handler=cast.collector_user)
    services.complaint_assign(actor=cast.compliance, complaint_id=complaint.pk, handler=cast.supervisor)
    complaint.refresh_from_db()
    assert complaint.handler == cast.supervisor


# ---------------------------------------------------------------- clocks


def test_the_decision_deadline_is_extended_only_once_and_with_a_reason(cast: Cast) -> None:
    with frozen(local("2026-11-23T09:00")):
        complaint = file_complaint(cast.own_case)
    with pytest.raises(ValidationError):
        services.complaint_extend(actor=cast.compliance, complaint_id=complaint.pk, reason="忙")
    services.complaint_extend(actor=cast.compliance, complaint_id=complaint.pk, reason="需调取外包机构录音，对方需5个工作日")
    complaint.refresh_from_db()
    assert complaint.decide_due_at == local("2026-12-08T09:00") + dt.timedelta(days=15)
    with pytest.raises(ValidationError, match="only once"):
        services.complaint_extend(actor=cast.compliance, complaint_id=complaint.pk, reason="还需要更多时间核实情况")
    complaint.refresh_from_db()
    assert complaint.decide_due_at == local("2026-12-23T09:00")
    assert complaint.events.filter(kind=ComplaintEventKind.EXTENDED).count() == 1


def test_the_deadlines_follow_the_settings(cast: Cast, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DOORSTEP_COMPLAINT_ACKNOWLEDGE_BUSINESS_DAYS = 2
    settings.DOORSTEP_COMPLAINT_DECIDE_DAYS = 30
    settings.DOORSTEP_HOLIDAYS = ["2026-11-24"]
    with frozen(local("2026-11-23T09:00")):
        complaint = file_complaint(cast.own_case)
    assert complaint.acknowledge_due_at == local("2026-11-26T09:00")  # Tuesday is a holiday
    assert complaint.decide_due_at == local("2026-12-23T09:00")


def test_breaches_are_recorded_once_each(cast: Cast) -> None:
    with frozen(local("2026-11-27T10:00")):
        late = file_complaint(cast.own_case)
        on_time = file_complaint(cast.colleagues_case)
    with frozen(local("2026-11-30T09:00")):
        services.complaint_acknowledge(actor=cast.compliance, complaint_id=on_time.pk)
    assert services.complaint_breaches_record(now=local("2026-11-30T09:59")) == {"acknowledge": 0, "decide": 0}
    assert services.complaint_breaches_record(now=local("2026-11-30T10:01")) == {"acknowledge": 1, "decide": 0}
    assert services.complaint_breaches_record(now=local("2026-11-30T11:00")) == {"acknowledge": 0, "decide": 0}
    late.refresh_from_db()
    assert late.acknowledge_breached_at == local("2026-11-30T10:00")
    assert complaint_clock(late, now=local("2026-11-30T11:00")).breached
    assert services.complaint_breaches_record(now=local("2026-12-12T10:01")) == {"acknowledge": 0, "decide": 2}
    assert ComplaintEvent.objects.filter(kind=ComplaintEventKind.DECIDE_BREACHED).count() == 2


def test_a_late_acknowledgement_counts_as_a_breach(cast: Cast) -> None:
    with frozen(local("2026-11-23T09:00")):
        complaint = file_complaint(cast.own_case)
    with frozen(local("2026-11-25T09:00")):
        services.complaint_acknowledge(actor=cast.compliance, complaint_id=complaint.pk)
    complaint.refresh_from_db()
    assert complaint.acknowledge_breached_at == local("2026-11-24T09:00")


def test_the_clock_shows_time_left_or_overdue(cast: Cast) -> None:
    with frozen(local("2026-11-23T09:00")):
        complaint = file_complaint(cast.own_case)
    clock = complaint_clock(complaint, now=local("2026-11-23T20:00"))
    assert clock.due_at == local("2026-11-24T09:00") and not clock.breached and clock.soon
    assert "13" in clock.remaining_text
    assert complaint_clock(complaint, now=local("2026-11-24T10:00")).breached


# ---------------------------------------------------------------- the dispute hold


def _visit_at_the_door(cast: Cast) -> ContactAction:
    start = local("2026-11-30T10:00")
    return ContactAction(
        case_id=cast.own_case.pk, channel="visit", start=start, end=start + dt.timedelta(minutes=45),
        collector_ids=(cast.collector.pk, cast.other_collector.pk), notice_given=True,
    )


def test_a_dispute_holds_the_case_in_the_gate_until_it_is_decided(cast: Cast) -> None:
    certify(cast.collector)
    certify(cast.other_collector)
    assert "FLAG-DISPUTE" not in check(_visit_at_the_door(cast)).rule_ids
    complaint = file_complaint(cast.own_case, category="amount_disputed")
    assert complaint.is_dispute
    verdict = check(_visit_at_the_door(cast))
    assert not verdict.allowed and "FLAG-DISPUTE" in verdict.rule_ids
    services.complaint_acknowledge(actor=cast.compliance, complaint_id=complaint.pk)
    services.complaint_investigate(actor=cast.compliance, complaint_id=complaint.pk)
    assert "FLAG-DISPUTE" in check(_visit_at_the_door(cast)).rule_ids
    services.complaint_resolve(actor=cast.compliance, complaint_id=complaint.pk, outcome="not_upheld",
                               resolution="核对还款流水，欠款金额无误，已向借款人解释。")
    assert "FLAG-DISPUTE" not in check(_visit_at_the_door(cast)).rule_ids
    assert AuditEvent.objects.filter(action="feedback.dispute_hold.released").count() == 1


def test_the_hold_stays_while_another_dispute_is_open(cast: Cast) -> None:
    first = file_complaint(cast.own_case, category="wrong_person")
    second = file_complaint(cast.own_case, category="amount_disputed")
    services.complaint_reject(actor=cast.compliance, complaint_id=first.pk, reason="与另一投诉重复，合并处理")
    cast.own_case.borrower.refresh_from_db()
    assert cast.own_case.borrower.has_dispute
    services.complaint_reject(actor=cast.compliance, complaint_id=second.pk, reason="借款人撤回投诉，电话确认")
    cast.own_case.borrower.refresh_from_db()
    assert not cast.own_case.borrower.has_dispute


def test_a_dispute_flag_the_bank_set_is_left_alone(cast: Cast) -> None:
    borrower = cast.own_case.borrower
    borrower.has_dispute = True
    borrower.save()
    complaint = file_complaint(cast.own_case, category="wrong_person")
    services.complaint_reject(actor=cast.compliance, complaint_id=complaint.pk, reason="已由法务部门另案处理")
    borrower.refresh_from_db()
    assert borrower.has_dispute


def test_a_complaint_about_conduct_puts_no_hold(cast: Cast) -> None:
    file_complaint(cast.own_case, category="threat_insult")
    cast.own_case.borrower.refresh_from_db()
    assert not cast.own_case.borrower.has_dispute


# ---------------------------------------------------------------- the borrower told, the collector reviewed


def test_the_borrower_is_told_of_each_step_in_their_language(cast: Cast, django_capture_on_commit_callbacks) -> None:
    from doorstep.notify.models import Message

    with django_capture_on_commit_callbacks(execute=True):
        complaint = file_complaint(cast.own_case)
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_acknowledge(actor=cast.compliance, complaint_id=complaint.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_investigate(actor=cast.compliance, complaint_id=complaint.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_extend(actor=cast.compliance, complaint_id=complaint.pk, reason="需要调取外包机构的录音")
    with django_capture_on_commit_callbacks(execute=True):
        services.complaint_resolve(actor=cast.compliance, complaint_id=complaint.pk, outcome="upheld", resolution=DECISION)
    messages = Message.objects.filter(borrower=cast.own_case.borrower).order_by("pk")
    assert [message.template for message in messages] == [
        "complaint_received", "complaint_acknowledged", "complaint_investigating", "complaint_extended",
        "complaint_resolved",
    ]
    assert all(not message.is_contact for message in messages)  # owed to the borrower, not collection contacts
    assert complaint.reference in messages[0].body
    assert "投诉成立" in messages.last().body and DECISION in messages.last().body


def test_an_upheld_complaint_about_conduct_sends_the_collector_for_review(cast: Cast) -> None:
    from doorstep.collectors.models import ReviewFlag

    visit = make_visit(cast.own_case, cast.collector)
    complaint = file_complaint(cast.own_case, visit=visit, category="third_party")
    services.complaint_acknowledge(actor=cast.compliance, complaint_id=complaint.pk)
    services.complaint_investigate(actor=cast.compliance, complaint_id=complaint.pk)
    services.complaint_resolve(actor=cast.compliance, complaint_id=complaint.pk, outcome="upheld", resolution=DECISION)
    flag = ReviewFlag.objects.get(collector=cast.collector)
    assert flag.source == "complaint" and flag.source_id == complaint.pk
    assert complaint.events.filter(kind=ComplaintEventKind.COLLECTOR_FLAGGED).exists()


@pytest.mark.parametrize(("category", "outcome"), [("third_party", "not_upheld"), ("amount_disputed", "upheld")])
def test_no_review_for_a_complaint_not_upheld_or_not_about_conduct(cast: Cast, category: str, outcome: str) -> None:
    from doorstep.collectors.models import ReviewFlag

    visit = make_visit(cast.own_case, cast.collector)
    complaint = file_complaint(cast.own_case, visit=visit, category=category)
    services.complaint_acknowledge(actor=cast.compliance, complaint_id=complaint.pk)
    services.complaint_investigate(actor=cast.compliance, complaint_id=complaint.pk)
    services.complaint_resolve(actor=cast.compliance, complaint_id=complaint.pk, outcome=outcome, resolution=DECISION)
    assert not ReviewFlag.objects.filter(collector=cast.collector).exists()


def test_a_dispute_calls_off_the_cases_scheduled_visits(cast: Cast, django_capture_on_commit_callbacks) -> None:
    visit = make_visit(cast.own_case, cast.collector, status=VisitStatus.SCHEDULED, start="2026-12-02T10:00")
    with django_capture_on_commit_callbacks(execute=True):
        file_complaint(cast.own_case, category="wrong_person")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.CANCELLED


def test_a_team_lead_is_given_only_complaints_about_their_own_team(cast: Cast) -> None:
    complaint = file_complaint(cast.other_team_case)
    with pytest.raises(ValidationError):
        services.complaint_assign(actor=cast.compliance, complaint_id=complaint.pk, handler=cast.supervisor)
