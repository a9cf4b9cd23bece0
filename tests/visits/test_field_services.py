"""The collector at the door: check-in through the gate, the record, attachments, check-out, alerts."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from doorstep.compliance.models import ContactEvent
from doorstep.core.models import AuditEvent
from doorstep.visits import field_services as services
from doorstep.visits.field_selectors import attachment_verify, confirmations_required
from doorstep.visits.field_services import FieldError, VisitRecord
from doorstep.visits.models import AlertKind, Visit, VisitAlert, VisitAttachment, VisitStatus
from tests.visits.field_factories import FieldCast, field, local, media  # noqa: F401

pytestmark = pytest.mark.django_db

AT_THE_DOOR = {"latitude": "30.657200", "longitude": "104.081100"}  # about 25 m from 张伟's address
ACROSS_TOWN = {"latitude": "30.667000", "longitude": "104.081000"}  # about 1.1 km north
CONFIRMED = {"id_shown": True, "recording": True, "entry_consent": False}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


def check_in(field: FieldCast, *, user=None, position=AT_THE_DOOR, at="2026-11-30 10:05", **kwargs):  # noqa: F811
    return services.visit_check_in(
        actor=user or field.cast.collector_user, visit_id=field.visit.pk, confirmations=kwargs.pop("confirmations", CONFIRMED),
        at=local(at), **position, **kwargs,
    )


def soon(days: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


def promise(**changes) -> VisitRecord:
    values = {
        "person_met": "borrower", "attitude": "cooperative", "willingness": "partial",
        "delinquency_reason": "income_loss", "result": "promise", "notes": "本人在家，答应月底先还一部分。",
        "next_action": "call", "follow_up_on": soon(10),
        "promise_amount": Decimal("1500.00"), "promise_due_on": soon(7),
    }
    return VisitRecord(**{**values, **changes})


def test_haversine_metres_matches_a_known_distance() -> None:
    one_degree_of_latitude = services.haversine_metres(30.0, 104.0, 31.0, 104.0)
    assert 111_000 < one_degree_of_latitude < 111_400
    assert services.haversine_metres(30.657, 104.081, 30.657, 104.081) == 0


def test_the_cn_rule_set_asks_for_id_recording_and_consent(field: FieldCast) -> None:  # noqa: F811
    confirmations = {item.code: item.required for item in confirmations_required(visit=field.visit)}
    assert confirmations == {"id_shown": True, "recording": False, "entry_consent": False}


def test_check_in_at_the_door_passes_the_gate_and_is_recorded(field: FieldCast) -> None:  # noqa: F811
    result = check_in(field, accuracy_m=12)

    assert result.allowed and not result.far
    visit = Visit.objects.get(pk=field.visit.pk)
    assert visit.status == VisitStatus.CHECKED_IN
    assert visit.checked_in_at == local("2026-11-30 10:05")
    assert 10 < visit.check_in_distance_m < 40
    assert visit.check_in_accuracy_m == 12
    assert visit.confirmations["id_shown"] is True
    event = ContactEvent.objects.get(pk=visit.contact_event_id)
    assert (event.channel, event.verdict) == ("visit", "allowed")
    assert set(event.collectors.values_list("pk", flat=True)) == {field.cast.collector.pk, field.cast.other_collector.pk}
    assert AuditEvent.objects.filter(action="visits.visit.checked_in", object_id=str(visit.pk)).count() == 1
    assert not VisitAlert.objects.exists()


def test_the_partner_may_check_in_for_the_crew(field: FieldCast) -> None:  # noqa: F811
    assert check_in(field, user=field.cast.other_collector_user).allowed


def test_a_far_check_in_is_flagged_and_the_team_lead_alerted(field: FieldCast) -> None:  # noqa: F811
    result = check_in(field, position=ACROSS_TOWN)

    assert result.allowed and result.far
    visit = Visit.objects.get(pk=field.visit.pk)
    assert visit.check_in_far and visit.check_in_distance_m > 1000
    alert = VisitAlert.objects.get()
    assert (alert.kind, alert.visit_id, alert.collector_id) == (AlertKind.FAR_CHECK_IN, visit.pk, field.cast.collector.pk)


def test_the_far_threshold_is_a_setting(field: FieldCast, settings) -> None:  # noqa: F811
    settings.DOORSTEP_CHECK_IN_FAR_METRES = 5000
    assert not check_in(field, position=ACROSS_TOWN).far


def test_a_refused_check_in_changes_nothing_but_the_ledger(field: FieldCast) -> None:  # noqa: F811
    borrower = field.visit.borrower
    borrower.do_not_visit = True
    borrower.save(update_fields=["do_not_visit"])

    result = check_in(field)

    assert not result.allowed
    assert "FLAG-DNV" in result.verdict.rule_ids
    assert result.verdict.reasons[0]["reason"]
    visit = Visit.objects.get(pk=field.visit.pk)
    assert visit.status == VisitStatus.SCHEDULED
    assert visit.checked_in_at is None and visit.contact_event_id is None and visit.confirmations == {}
    assert ContactEvent.objects.get(case=field.visit.case).verdict == "refused"
    assert not AuditEvent.objects.filter(action="visits.visit.checked_in").exists()
    assert not VisitAlert.objects.exists()


def test_a_check_in_in_quiet_hours_is_refused(field: FieldCast) -> None:  # noqa: F811
    result = check_in(field, at="2026-11-30 22:30")
    assert not result.allowed
    assert Visit.objects.get(pk=field.visit.pk).status == VisitStatus.SCHEDULED


def test_a_lone_collector_is_refused_where_the_rules_ask_for_two(field: FieldCast) -> None:  # noqa: F811
    Visit.objects.filter(pk=field.visit.pk).update(partner=None)
    result = check_in(field)
    assert not result.allowed and "CN-V1" in result.verdict.rule_ids


def test_confirmations_come_before_the_gate(field: FieldCast) -> None:  # noqa: F811
    with pytest.raises(FieldError):
        check_in(field, confirmations={"recording": True})
    with pytest.raises(FieldError):
        check_in(field, confirmations=CONFIRMED, enters_residence=True)
    assert not ContactEvent.objects.exists()
    assert Visit.objects.get(pk=field.visit.pk).status == VisitStatus.SCHEDULED


def test_a_check_in_is_on_the_visits_day(field: FieldCast) -> None:  # noqa: F811
    with pytest.raises(FieldError):
        check_in(field, at="2026-11-29 10:05")
    assert not ContactEvent.objects.exists()


def test_a_check_in_needs_a_position(field: FieldCast) -> None:  # noqa: F811
    with pytest.raises(FieldError):
        check_in(field, position={"latitude": None, "longitude": None})
    with pytest.raises(FieldError):
        check_in(field, position={"latitude": "95", "longitude": "104"})


def test_nobody_acts_on_another_collectors_visit(field: FieldCast) -> None:  # noqa: F811
    with pytest.raises(PermissionDenied):
        check_in(field, user=field.stranger_user)
    with pytest.raises(PermissionDenied):
        check_in(field, user=field.cast.supervisor)
    with pytest.raises(PermissionDenied):
        services.visit_record(actor=field.stranger_user, visit_id=field.visit.pk, record=promise())
    with pytest.raises(PermissionDenied):
        services.visit_check_out(actor=field.stranger_user, visit_id=field.visit.pk)
    with pytest.raises(PermissionDenied):
        services.alert_sos_raise(actor=field.stranger_user, latitude=None, longitude=None, visit_id=field.visit.pk)
    assert not ContactEvent.objects.exists()
    assert Visit.objects.get(pk=field.visit.pk).status == VisitStatus.SCHEDULED


def test_the_record_is_saved_only_after_check_in(field: FieldCast) -> None:  # noqa: F811
    with pytest.raises(FieldError):
        services.visit_record(actor=field.cast.collector_user, visit_id=field.visit.pk, record=promise())
    check_in(field)

    visit = services.visit_record(actor=field.cast.collector_user, visit_id=field.visit.pk, record=promise())

    visit.refresh_from_db()
    assert (visit.person_met, visit.result, visit.willingness) == ("borrower", "promise", "partial")
    assert visit.follow_up_on == soon(10)
    entry = AuditEvent.objects.get(action="visits.visit.recorded")
    assert entry.data["promise"]["amount"] == "1500.00"
    assert entry.data["promise"]["due_on"] == soon(7).isoformat()
    from doorstep.arrangements.models import PromiseToPay

    taken = PromiseToPay.objects.get(case=visit.case)
    assert (taken.amount, taken.due_on, taken.visit_id, taken.channel) == (Decimal("1500.00"), soon(7), visit.pk, "visit")
    assert entry.data["promise"]["promise_id"] == taken.pk

    services.visit_record(actor=field.cast.collector_user, visit_id=field.visit.pk, record=promise(notes="更正备注"))
    assert PromiseToPay.objects.filter(case=visit.case).count() == 1


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"promise_amount": None}, "promise_amount"),
        ({"promise_amount": Decimal("0")}, "promise_amount"),
        ({"promise_due_on": None}, "promise_due_on"),
        ({"promise_due_on": dt.date(2020, 1, 1)}, "promise_due_on"),
        ({"person_met": "family"}, "person_met"),
        ({"person_met": "nobody"}, "result"),
        ({"result": "bribe"}, "result"),
        ({"follow_up_on": None}, "follow_up_on"),
    ],
)
def test_a_record_that_does_not_add_up_is_refused(field: FieldCast, changes, field_name) -> None:  # noqa: F811
    check_in(field)
    with pytest.raises(FieldError) as refused:
        services.visit_record(actor=field.cast.collector_user, visit_id=field.visit.pk, record=promise(**changes))
    assert field_name in refused.value.error_dict
    assert Visit.objects.get(pk=field.visit.pk).result == ""


def test_check_out_completes_the_visit_and_tells_the_ledger_what_happened(field: FieldCast) -> None:  # noqa: F811
    check_in(field)
    with pytest.raises(FieldError):
        services.visit_check_out(actor=field.cast.collector_user, visit_id=field.visit.pk, at=local("2026-11-30 10:30"))
    services.visit_record(actor=field.cast.collector_user, visit_id=field.visit.pk, record=promise())

    visit = services.visit_check_out(
        actor=field.cast.collector_user, visit_id=field.visit.pk, at=local("2026-11-30 10:40"), **AT_THE_DOOR
    )

    assert visit.status == VisitStatus.COMPLETED
    assert visit.checked_out_at == local("2026-11-30 10:40")
    assert visit.check_out_latitude == Decimal("30.657200")
    event = ContactEvent.objects.get(pk=visit.contact_event_id)
    assert (event.connected, event.right_party, event.outcome_code) == (True, True, "promise")
    assert event.ended_at == local("2026-11-30 10:40")
    assert AuditEvent.objects.get(action="visits.visit.checked_out").data["minutes"] == 35
    with pytest.raises(FieldError):
        services.visit_check_out(actor=field.cast.collector_user, visit_id=field.visit.pk)
    with pytest.raises(FieldError):
        services.visit_record(actor=field.cast.collector_user, visit_id=field.visit.pk, record=promise())


def test_an_attachment_is_stored_under_its_sha256_and_verified(field: FieldCast, media) -> None:  # noqa: F811
    check_in(field)
    upload = SimpleUploadedFile("门牌.jpg", JPEG, content_type="application/octet-stream")

    attachment = services.visit_attachment_add(actor=field.cast.collector_user, visit_id=field.visit.pk, upload=upload)

    assert attachment.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert (attachment.kind, attachment.content_type, attachment.size_bytes) == ("photo", "image/jpeg", len(JPEG))
    assert attachment.file.name.endswith(attachment.sha256)
    assert attachment_verify(attachment)
    again = services.visit_attachment_add(
        actor=field.cast.collector_user, visit_id=field.visit.pk, upload=SimpleUploadedFile("copy.jpg", JPEG)
    )
    assert again.pk == attachment.pk and VisitAttachment.objects.count() == 1

    with open(attachment.file.path, "r+b") as handle:
        handle.seek(20)
        handle.write(b"tampered")
    assert not attachment_verify(attachment)


def test_an_audio_recording_is_accepted(field: FieldCast, media) -> None:  # noqa: F811
    check_in(field)
    mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 512
    attachment = services.visit_attachment_add(
        actor=field.cast.collector_user, visit_id=field.visit.pk, upload=SimpleUploadedFile("录音.mp3", mp3)
    )
    assert (attachment.kind, attachment.content_type) == ("audio", "audio/mpeg")


@pytest.mark.parametrize(
    ("content", "limit"),
    [(b"MZ\x90\x00 not a photo at all", None), (b"", None), (JPEG, 100)],
)
def test_attachments_of_the_wrong_type_or_size_are_refused(field: FieldCast, media, settings, content, limit) -> None:  # noqa: F811
    if limit:
        settings.DOORSTEP_VISIT_ATTACHMENT_MAX_BYTES = limit
    check_in(field)
    with pytest.raises(FieldError):
        services.visit_attachment_add(
            actor=field.cast.collector_user, visit_id=field.visit.pk, upload=SimpleUploadedFile("x.jpg", content)
        )
    assert not VisitAttachment.objects.exists()


def test_no_attachment_before_check_in(field: FieldCast, media) -> None:  # noqa: F811
    with pytest.raises(FieldError):
        services.visit_attachment_add(
            actor=field.cast.collector_user, visit_id=field.visit.pk, upload=SimpleUploadedFile("a.jpg", JPEG)
        )


def test_a_visit_taking_too_long_raises_one_alert(field: FieldCast) -> None:  # noqa: F811
    check_in(field, at="2026-11-30 10:00")  # 30 minutes planned, 30 minutes' margin
    assert services.alerts_overdue_raise(now=local("2026-11-30 10:59")) == 0

    assert services.alerts_overdue_raise(now=local("2026-11-30 11:01")) == 1
    assert services.alerts_overdue_raise(now=local("2026-11-30 11:30")) == 0

    alert = VisitAlert.objects.get()
    assert (alert.kind, alert.visit_id, alert.collector_id) == (AlertKind.OVERDUE, field.visit.pk, field.cast.collector.pk)
    assert alert.latitude == Decimal(AT_THE_DOOR["latitude"])
    assert AuditEvent.objects.filter(action="visits.alert.overdue_raised").count() == 1


def test_the_overdue_margin_is_a_setting_and_completed_visits_never_alert(field: FieldCast, settings) -> None:  # noqa: F811
    settings.DOORSTEP_VISIT_OVERDUE_MARGIN_MINUTES = 5
    check_in(field, at="2026-11-30 10:00")
    services.visit_record(actor=field.cast.collector_user, visit_id=field.visit.pk, record=promise())
    services.visit_check_out(actor=field.cast.collector_user, visit_id=field.visit.pk, at=local("2026-11-30 10:20"))
    assert services.alerts_overdue_raise(now=local("2026-11-30 12:00")) == 0

    Visit.objects.filter(pk=field.second_visit.pk).update(status="checked_in", checked_in_at=local("2026-11-30 14:00"))
    assert services.alerts_overdue_raise(now=local("2026-11-30 14:36")) == 1


def test_sos_sends_the_position_to_the_team_lead(field: FieldCast) -> None:  # noqa: F811
    alert = services.alert_sos_raise(
        actor=field.cast.collector_user, latitude="30.657100", longitude="104.081050", visit_id=field.visit.pk,
        note="对方情绪激动", at=local("2026-11-30 10:10"),
    )
    assert (alert.kind, alert.collector_id, alert.visit_id) == (AlertKind.SOS, field.cast.collector.pk, field.visit.pk)
    assert (alert.latitude, alert.longitude) == (Decimal("30.657100"), Decimal("104.081050"))
    assert AuditEvent.objects.filter(action="visits.alert.sos_raised", object_id=str(alert.pk)).exists()


def test_sos_works_without_a_position_and_only_for_collectors(field: FieldCast) -> None:  # noqa: F811
    alert = services.alert_sos_raise(actor=field.cast.collector_user, latitude=None, longitude=None)
    assert alert.latitude is None and alert.visit_id is None
    with pytest.raises(PermissionDenied):
        services.alert_sos_raise(actor=field.cast.outsider, latitude=None, longitude=None)


def test_the_team_lead_gets_a_message_about_an_sos(field: FieldCast, django_capture_on_commit_callbacks) -> None:  # noqa: F811
    from doorstep.notify.models import Message

    with django_capture_on_commit_callbacks(execute=True):
        alert = services.alert_sos_raise(
            actor=field.cast.collector_user, latitude="30.657100", longitude="104.081050", visit_id=field.visit.pk,
        )

    message = Message.objects.get(idempotency_key=f"visit-alert-{alert.pk}")
    assert message.channel == "app"
    assert "SOS" in message.body and "30.657100" in message.body and "CD0001" in message.body
