"""The outbox: a notice to 张伟 about his case goes through the gate, waits out quiet hours, and is sent once."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from doorstep.compliance.models import ContactEvent, Verdict
from doorstep.compliance.services import caches_clear
from doorstep.core.crypto import decrypt_text
from doorstep.core.models import AuditEvent
from doorstep.notify import backends
from doorstep.notify.models import Message, MessageStatus
from doorstep.notify.selectors import outbox_for_case
from doorstep.notify.services import message_cancel, message_queue, outbox_dispatch, outbox_dispatch_run
from tests import factories

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTOR = "system:test"


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A time in the borrower's zone, in the future so the queue never clamps it to now."""
    return dt.datetime(2031, 3, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _fresh_gate_caches() -> None:
    caches_clear()


def queue(case, key: str = "reminder:1", **overrides):  # type: ignore[no-untyped-def]
    arguments = {
        "actor": ACTOR,
        "template": "reminder",
        "channel": "sms",
        "context": {"name": case.borrower.name, "amount": "3170.50"},
        "idempotency_key": key,
        "case": case,
    }
    arguments.update(overrides)
    return message_queue(**arguments)


def test_a_notice_is_rendered_in_chinese_with_the_recipient_encrypted_and_masked(cast) -> None:
    message = queue(cast.own_case, not_before=local(4, 10))
    assert message.status == MessageStatus.QUEUED
    assert message.language == "zh-hans"
    assert "张伟您好" in message.body and "3170.50" in message.body
    phone = decrypt_text(message.recipient_encrypted)
    assert phone.startswith("138") and len(phone) == 11
    assert message.recipient_masked == cast.own_case.borrower.phone_masked
    assert phone not in message.recipient_masked
    assert message.borrower == cast.own_case.borrower and message.is_contact
    assert AuditEvent.objects.filter(action="notify.message.queued", object_id=str(message.pk)).exists()


def test_english_text_is_plain_text_not_html_escaped(cast) -> None:
    message = queue(cast.own_case, language="en", not_before=local(4, 10))
    assert message.language == "en"
    assert message.body.endswith("<b>")


def test_an_unknown_language_falls_back_to_chinese(cast) -> None:
    message = queue(cast.own_case, language="fr", not_before=local(4, 10))
    assert message.language == "zh-hans"


def test_a_letter_takes_its_first_line_as_the_subject(cast) -> None:
    message = queue(cast.own_case, channel="letter", key="letter:1", not_before=local(4, 10))
    assert message.subject == "逾期还款提示函"
    assert message.body.startswith("张伟：")
    assert "张" in message.recipient_masked and "红星路" not in message.recipient_masked
    assert "红星路三段1号" in decrypt_text(message.recipient_encrypted)


def test_the_same_key_returns_the_first_message(cast) -> None:
    first = queue(cast.own_case, not_before=local(4, 10))
    again = queue(cast.own_case, not_before=local(5, 10), context={"name": "x", "amount": "1"})
    assert again.pk == first.pk and again.send_after == first.send_after
    assert Message.objects.count() == 1


def test_a_notice_asked_for_at_night_waits_for_the_morning(cast) -> None:
    message = queue(cast.own_case, not_before=local(4, 23, 30))
    assert message.status == MessageStatus.QUEUED
    assert message.send_after == local(5, 8)
    assert outbox_dispatch(now=local(5, 7, 59)) == 0
    assert outbox_dispatch(now=local(5, 8)) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.sent_at == local(5, 8)


def test_a_notice_due_by_day_is_recorded_in_the_ledger_when_sent(cast, settings) -> None:
    message = queue(cast.own_case, not_before=local(4, 10))
    assert not ContactEvent.objects.exists()
    assert outbox_dispatch(now=local(4, 10, 1)) == 1
    message.refresh_from_db()
    event = message.contact_event
    assert event is not None and event.verdict == Verdict.ALLOWED and event.channel == "sms"
    assert event.case_id == cast.own_case.pk
    written = backends.message_file(message).read_text(encoding="utf-8")
    assert "张伟您好" in written and message.recipient_masked in written
    assert decrypt_text(message.recipient_encrypted) not in written


def test_a_contact_the_gate_refuses_outright_is_held_and_recorded(cast) -> None:
    cast.own_case.borrower.has_dispute = True
    cast.own_case.borrower.save(update_fields=["has_dispute"])
    message = queue(cast.own_case, not_before=local(4, 10))
    assert message.status == MessageStatus.HELD
    assert message.hold_reasons and all(hit["severity"] == "refuse" for hit in message.hold_reasons)
    event = ContactEvent.objects.get()
    assert event.verdict == Verdict.REFUSED and message.contact_event == event
    assert outbox_dispatch(now=local(4, 11)) == 0


def test_the_gate_is_asked_again_when_the_message_is_due(cast) -> None:
    message = queue(cast.own_case, not_before=local(4, 10))
    cast.own_case.borrower.has_dispute = True
    cast.own_case.borrower.save(update_fields=["has_dispute"])
    result = outbox_dispatch_run(now=local(4, 10, 5))
    message.refresh_from_db()
    assert message.status == MessageStatus.HELD and result.held == 1
    assert [hit["rule_id"] for hit in message.hold_reasons] == ["FLAG-DISPUTE"]
    assert ContactEvent.objects.get().verdict == Verdict.REFUSED


def test_a_one_time_code_is_not_a_contact_goes_at_night_and_is_erased_after_sending(cast) -> None:
    message = queue(cast.own_case, contact=False, secret=True, not_before=local(4, 23, 30), key="code:1")
    assert not message.is_contact and message.send_after == local(4, 23, 30)
    assert outbox_dispatch(now=local(4, 23, 31)) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.body == "—"
    assert "张伟您好" in backends.message_file(message).read_text(encoding="utf-8")
    assert not ContactEvent.objects.exists()


def test_a_message_to_staff_needs_no_case_and_no_gate(cast) -> None:
    message = message_queue(
        actor=ACTOR, template="shift", channel="app", context={}, idempotency_key="shift:1",
        collector=cast.collector, not_before=local(4, 23, 50),
    )
    assert not message.is_contact and message.recipient_masked == cast.collector.display_name
    assert outbox_dispatch(now=local(4, 23, 55)) == 1


def test_cancelled_messages_are_not_sent_and_sent_ones_cannot_be_cancelled(cast) -> None:
    first = queue(cast.own_case, not_before=local(4, 10))
    second = queue(cast.colleagues_case, key="reminder:2", not_before=local(4, 10))
    message_cancel(actor=ACTOR, message_id=first.pk, reason="visit cancelled")
    assert message_cancel(actor=ACTOR, message_id=first.pk, reason="again").cancelled_reason == "visit cancelled"
    assert outbox_dispatch(now=local(4, 10, 5)) == 1
    first.refresh_from_db()
    assert first.status == MessageStatus.CANCELLED
    with pytest.raises(ValidationError):
        message_cancel(actor=ACTOR, message_id=second.pk, reason="too late")


def test_the_outbox_backend_leaves_messages_ready_for_the_gateway(cast, settings) -> None:
    settings.DOORSTEP_NOTIFY_BACKEND = "outbox"
    message = queue(cast.own_case, not_before=local(4, 10))
    result = outbox_dispatch_run(now=local(4, 10, 5))
    assert result.ready == 1 and result.sent == 0
    message.refresh_from_db()
    assert message.status == MessageStatus.READY
    assert not backends.message_file(message).exists()


def test_outbox_for_case_lists_only_that_case(cast) -> None:
    mine = queue(cast.own_case, not_before=local(4, 10))
    queue(cast.colleagues_case, key="reminder:2", not_before=local(4, 10))
    assert list(outbox_for_case(case=cast.own_case)) == [mine]


def test_bad_input_changes_nothing(cast) -> None:
    with pytest.raises(ValidationError):
        queue(cast.own_case, channel="pigeon")
    with pytest.raises(ValidationError):
        queue(cast.own_case, idempotency_key="")
    with pytest.raises(ValidationError):
        queue(cast.own_case, not_before=dt.datetime(2031, 3, 4, 10))
    assert not Message.objects.exists()


def test_a_borrower_contact_without_any_case_is_refused(db) -> None:
    borrower = factories.make_borrower("孙丽")
    with pytest.raises(ValidationError):
        message_queue(actor=ACTOR, template="reminder", channel="sms", context={"name": "孙丽", "amount": "1"},
                      idempotency_key="x", borrower=borrower, not_before=local(4, 10))


@pytest.mark.django_db
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    asked=st.integers(min_value=0, max_value=7 * 24 * 60 - 1),
    dispatch_every=st.integers(min_value=7, max_value=240),
)
def test_notices_are_never_sent_inside_quiet_hours(asked: int, dispatch_every: int) -> None:
    """Whenever a notice is asked for and however often the dispatcher runs, it goes out between 08:00 and 22:00."""
    Message.objects.all().delete()
    ContactEvent.objects.all().delete()
    case = factories.make_case(factories.make_borrower("周敏"))
    start = local(3, 0) + dt.timedelta(minutes=asked)
    message = queue(case, key=f"night:{asked}:{dispatch_every}:{case.pk}", not_before=start)
    now = start
    while now <= start + dt.timedelta(hours=24):  # quiet hours never last a day
        outbox_dispatch(now=now)
        now += dt.timedelta(minutes=dispatch_every)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    sent = message.sent_at.astimezone(SHANGHAI)
    assert dt.time(8) <= sent.time() < dt.time(22)
    event = message.contact_event
    assert event is not None and event.verdict == Verdict.ALLOWED
    assert dt.time(8) <= event.started_at.astimezone(SHANGHAI).time() < dt.time(22)


def test_a_staff_message_to_another_login_shows_that_login(cast) -> None:
    message = message_queue(
        actor=ACTOR, template="shift", channel="app", context={}, idempotency_key="alert:1",
        collector=cast.collector, contact=False, recipient=cast.supervisor.get_username(),
    )
    assert message.recipient_masked == "lead" and decrypt_text(message.recipient_encrypted) == "lead"
